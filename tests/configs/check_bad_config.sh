#!/bin/sh
# Usage: check_bad_config.sh ATTNMATRIX CONFIG EXPECTED_SUBSTRING [--no-line]
# A malformed config must stop attnmatrix with exit status 2 and exactly one line on
# stderr that names the file, a line number (":<digits>:") and what is wrong.
# --no-line: a file refused before it is parsed (a directory, too large) has no line to name.
tool=$1
config=$2
expected=$3
want_line=${4:-}
err=$(mktemp)
out=$(mktemp)
trap 'rm -f "$err" "$out"' EXIT

"$tool" --config "$config" --quiet >"$out" 2>"$err"
status=$?

fail() {
    echo "FAIL: $config: $*"
    echo "--- stderr:"
    cat "$err"
    echo "--- stdout:"
    cat "$out"
    exit 1
}

[ "$status" -eq 2 ] || fail "exit status $status, expected 2"
lines=$(grep -c '' "$err") # counts a last line without a newline too
[ "$lines" -eq 1 ] || fail "$lines lines on stderr, expected exactly 1"
grep -qF -- "$(basename "$config")" "$err" || fail "stderr does not name the file"
[ "$want_line" = --no-line ] || grep -qE -- ':[0-9]+:' "$err" || fail "stderr has no line number (:<digits>:)"
grep -qF -- "$expected" "$err" || fail "stderr does not contain: $expected"
echo "ok: $(cat "$err")"
