#!/bin/sh
# Usage: check_isolate.sh ATTNMATRIX CONFIG CASES
# attnmatrix --isolate with a backend that segfaults (D == 24) and one that hangs (D == 40):
# the table must still print, with CRASH and TIMEOUT in exactly their cells, PASS everywhere
# else (results travel back from the workers intact), and exit status 1.
. "$(dirname "$0")/common.sh"

# expect_row ROW CELLS: the JSON line of ROW has exactly these cells.
expect_row() {
    grep -qF -- "{\"case\": \"$1\", \"cells\": {$2}" "$out" || fail "row '$1' should read {$2}"
}

"$tool" --config "$config" --cases "$cases" --no-builtin --isolate --timeout 2 --format json --quiet >"$out" 2>"$err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (CRASH and TIMEOUT count as failures)"
expect_row "Isolation: plain" '"sdpa-ref": "PASS", "crasher": "PASS", "hanger": "PASS"'
expect_row "Isolation: crash" '"sdpa-ref": "PASS", "crasher": "CRASH", "hanger": "PASS"'
expect_row "Isolation: hang" '"sdpa-ref": "PASS", "crasher": "PASS", "hanger": "TIMEOUT"'
expect_row "Isolation: after" '"sdpa-ref": "PASS", "crasher": "PASS", "hanger": "PASS"'
# The crash names its signal (a sanitizer build ends the worker with an exit status instead).
grep -qE '"crasher": "[^"]*(killed by SIGSEGV|the worker exited with status [1-9])' "$out" || fail "no crash reason"
grep -qF '"hanger": "f32 B1 H2/2 T4x4 D40' "$out" || grep -qF 'no answer within 2 s' "$out" || fail "no timeout reason"
grep -qF 'no answer within 2 s' "$out" || fail "the timeout reason does not name the limit"

# The markdown table prints whole, with the reasons under it.
"$tool" --config "$config" --cases "$cases" --no-builtin --isolate --timeout 2 --quiet >"$out" 2>"$err"
status=$?
[ "$status" -eq 1 ] || fail "table: exit status $status, expected 1"
grep -qF '| Isolation: crash | PASS | CRASH [1] | PASS |' "$out" || fail "table: crash row"
grep -qF '| Isolation: hang | PASS | PASS | TIMEOUT [2] |' "$out" || fail "table: hang row"
grep -qF '| Isolation: after | PASS | PASS | PASS |' "$out" || fail "table: the row after the crash"
grep -qF '[1] crasher, Isolation: crash:' "$out" || fail "table: crash reason"

# A built-in row under isolation, every backend healthy on it: exit status 0.
"$tool" --config "$config" --rows "Causal" --isolate --quiet >"$out" 2>"$err"
status=$?
[ "$status" -eq 0 ] || fail "--rows Causal: exit status $status, expected 0"
grep -qF '| Causal full-seq | PASS | PASS | PASS |' "$out" || fail "--rows Causal: not all PASS"
echo "ok: CRASH and TIMEOUT isolated, every other cell PASS"
