#!/bin/sh
# Every bad case file gives exactly its expected one-line error and exit status 2.
# usage: check_bad_cases.sh ATTNMATRIX CONFIG CASES_DIR
set -u
tool=$1 config=$2 dir=$3
failures=0
tab=$(printf '\t')
for file in "$dir"/*.yaml; do
    name=$(basename "$file")
    expected=$(grep "^$name$tab" "$dir/EXPECTED" | cut -f2-)
    if [ -z "$expected" ]; then
        echo "FAIL $name: no line in EXPECTED"
        failures=$((failures + 1))
        continue
    fi
    err=$("$tool" --config "$config" --cases "$file" --no-builtin --quiet 2>&1 >/dev/null)
    status=$?
    want="attnmatrix: $file:$expected"
    if [ "$status" -ne 2 ] || [ "$err" != "$want" ]; then
        printf 'FAIL %s: exit %s\n  got:  %s\n  want: %s\n' "$name" "$status" "$err" "$want"
        failures=$((failures + 1))
    fi
done
grep -v '^#' "$dir/EXPECTED" | cut -f1 | while read -r name; do
    [ -f "$dir/$name" ] || { echo "FAIL EXPECTED names $name, which does not exist"; exit 1; }
done || failures=$((failures + 1))
[ "$failures" -eq 0 ] && echo "all bad case files give their exact error"
[ "$failures" -eq 0 ]
