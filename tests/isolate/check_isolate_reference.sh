#!/bin/sh
# Usage: check_isolate_reference.sh ATTNMATRIX CONFIG CASES
# Under --isolate golden and baseline run in workers too: a golden that segfaults (D == 24) and
# a baseline that hangs (D == 40) fail only their instances' rows, with a reason that says which
# reference was lost and how, and the table still prints (exit status 1).
. "$(dirname "$0")/common.sh"

"$tool" --config "$config" --cases "$cases" --no-builtin --isolate --timeout 2 --format json --quiet >"$out" 2>"$err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (rows whose reference was lost FAIL)"
# expect_row ROW CELL: the JSON line of ROW reads CELL for its one backend.
expect_row() {
    grep -qF -- "{\"case\": \"$1\", \"cells\": {\"sdpa-ref\": \"$2\"}" "$out" || fail "row '$1' should read $2"
}
expect_row "Isolation: plain" PASS
expect_row "Isolation: crash" FAIL
expect_row "Isolation: hang" FAIL
expect_row "Isolation: after" PASS
# A sanitizer build ends the crashed worker with an exit status instead of the signal.
grep -qE 'golden crashed: (killed by SIGSEGV|the worker exited with status [1-9])' "$out" ||
    fail "no 'golden crashed' reason"
grep -qF 'baseline timed out: no answer within 2 s' "$out" || fail "no 'baseline timed out' reason"
echo "ok: a crashing golden and a hanging baseline fail only their rows"
