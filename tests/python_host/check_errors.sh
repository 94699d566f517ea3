#!/bin/sh
# Usage: check_errors.sh ATTNMATRIX PYTHON MODULES_DIR
# Modules that misbehave, in one process (no --isolate): each Python failure becomes a status
# with its message (type, text, the file:line it was raised at), never an escaped exception or
# a dead host; the table prints whole.  Needs a Python, not numpy.
. "$(dirname "$0")/common.sh"
skip_unless_python "with a shared libpython"
modules=$3
entry() { # NAME MODULE [EXTRA OPTIONS]
    printf '  - name: %s\n    plugin: attn_python_host\n    options: {python: "%s", module: %s, path: "%s"%s}\n' \
        "$1" "$python" "$2" "$modules" "$3"
}
{
    printf 'backends:\n  - name: sdpa-ref\n    plugin: attn_sdpa_ref\n'
    entry raising raising
    entry wrong-type wrong_type
    entry writes-nothing writes_nothing
    entry exits exits
    entry create-raises create_raises
    entry refuses refuses ", colour: blue"
    entry missing no_such_module_here
} >"$work/errors.yaml"

row="KV chunk decode (Tk>Tq>1)"
"$tool" --config "$work/errors.yaml" --rows "KV chunk" --format json --quiet >"$out" 2>"$err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (FAIL cells)"
expect_cell "$row" sdpa-ref PASS
expect_cell "$row" raising FAIL
expect_reason "python module raising: run() raised ValueError: deliberate failure for Tq=16 (at $modules/raising.py:16 in helper)"
expect_cell "$row" wrong-type FAIL
expect_reason "python module wrong_type: check() returned int 42; expected None or a str (the refusal reason)"
expect_cell "$row" writes-nothing FAIL
expect_reason "python module writes_nothing: run() returned None but wrote nothing into problem.o"
expect_cell "$row" exits FAIL
expect_reason "python module exits: run() raised SystemExit: 3 (at $modules/exits.py:13 in run)"
expect_cell "$row" create-raises SKIP
expect_reason "create_raises.create() raised RuntimeError: no accelerator for this test backend (at $modules/create_raises.py:5 in create)"
expect_cell "$row" refuses UNSUPPORTED
expect_reason "refused with options [('colour', 'blue')]" # other options reach create() as str
expect_cell "$row" missing SKIP
expect_reason "cannot import no_such_module_here: ModuleNotFoundError: No module named 'no_such_module_here'\""
"$tool" --config "$work/errors.yaml" --rows "Causal full-seq" --format json --quiet >"$out" 2>"$err"
expect_cell "Causal full-seq" refuses N/A
expect_reason "square problems mean nothing to this test backend"

# A config error, not a skip: no module option, and a module name that is not one.
printf 'backends:\n  - name: x\n    plugin: attn_python_host\n    options: {python: "%s"}\n' "$python" >"$work/bad.yaml"
"$tool" --config "$work/bad.yaml" --rows "KV chunk" --quiet >"$out" 2>"$err"
[ $? -eq 2 ] || fail "no module option: exit status should be 2"
grep -qF "option module is required" "$out" "$err" || fail "no module option: no message"
printf 'backends:\n  - name: x\n    plugin: attn_python_host\n    options: {module: "os; rm"}\n' >"$work/bad.yaml"
"$tool" --config "$work/bad.yaml" --rows "KV chunk" --quiet >"$out" 2>"$err"
[ $? -eq 2 ] || fail "bad module name: exit status should be 2"
grep -qF "is not a Python module name" "$out" "$err" || fail "bad module name: no message"
echo "ok: every Python failure is a status with its message"
