#!/bin/sh
# Usage: check_isolate.sh ATTNMATRIX PYTHON MODULES_DIR CASES
# Under attnmatrix --isolate: a module that hangs is TIMEOUT, one that crashes the interpreter
# CRASH, a Python that does not exist SKIP with the reason; the rest of the table prints.
. "$(dirname "$0")/common.sh"
skip_unless_python "with a shared libpython"
modules=$3
cases=$4
entry() { # NAME MODULE [PYTHON]
    printf '  - name: %s\n    plugin: attn_python_host\n    options: {python: "%s", module: %s, path: "%s"}\n' \
        "$1" "${3:-$python}" "$2" "$modules"
}
{
    printf 'backends:\n  - name: sdpa-ref\n    plugin: attn_sdpa_ref\n'
    entry hangs hangs
    entry crashes crashes
    entry raising raising
    entry no-python raising /nonexistent/python3
} >"$work/isolate.yaml"
row="Python host: small"
# Each worker starts an interpreter: milliseconds, but seconds under valgrind.  The limit must
# only catch the hang.
limit=3
[ "$under_valgrind" -eq 1 ] && limit=60
"$tool" --config "$work/isolate.yaml" --cases "$cases" --no-builtin --isolate --timeout $limit --format json --quiet \
    >"$out" 2>"$err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1"
expect_cell "$row" sdpa-ref PASS
expect_cell "$row" hangs TIMEOUT
expect_reason "no answer within $limit s"
expect_cell "$row" crashes CRASH
expect_cell "$row" raising FAIL
expect_reason "run() raised ValueError: deliberate failure for Tq=6"
expect_cell "$row" no-python SKIP
expect_reason "no Python interpreter '/nonexistent/python3' (option python names the executable)"
echo "ok: TIMEOUT, CRASH and SKIP contained under --isolate"
