#!/bin/sh
# Every bad case file gives exactly its expected one-line error and exit status 2.
# usage: check_bad_cases.sh ATTNMATRIX CONFIG CASES_DIR
set -u
tool=$1 config=$2 dir=$3
failures=0
tab=$(printf '\t')
# check FILE WANT: attnmatrix exits 2 and says exactly WANT.
check() {
    err=$("$tool" --config "$config" --cases "$1" --no-builtin --quiet 2>&1 >/dev/null)
    status=$?
    if [ "$status" -ne 2 ] || [ "$err" != "$2" ]; then
        printf 'FAIL %s: exit %s\n  got:  %s\n  want: %s\n' "$(basename "$1")" "$status" "$err" "$2"
        failures=$((failures + 1))
    fi
}
for file in "$dir"/*.yaml; do
    name=$(basename "$file")
    expected=$(grep "^$name$tab" "$dir/EXPECTED" | cut -f2-)
    if [ -z "$expected" ]; then
        echo "FAIL $name: no line in EXPECTED"
        failures=$((failures + 1))
        continue
    fi
    check "$file" "attnmatrix: $file:$expected"
done
# Not a file at all: refused before a byte is read (the config tests cover the other kinds).
check /dev/zero "attnmatrix: cannot read /dev/zero: it is a character device, not a regular file"
grep -v '^#' "$dir/EXPECTED" | cut -f1 | while read -r name; do
    [ -f "$dir/$name" ] || { echo "FAIL EXPECTED names $name, which does not exist"; exit 1; }
done || failures=$((failures + 1))
[ "$failures" -eq 0 ] && echo "all bad case files give their exact error"
[ "$failures" -eq 0 ]
