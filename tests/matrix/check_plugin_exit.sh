#!/bin/sh
# Usage: check_plugin_exit.sh ATTNMATRIX EXITING_PLUGIN WORK_DIR
# A plugin that calls exit(0) in run() must not turn into a silent success: attnmatrix exits 1
# and says what it was doing; under --isolate the worker's exit is a CRASH cell, the table prints.
tool=$1
plugin=$2
work=$3
mkdir -p "$work" || exit 1
printf 'backends:\n  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n  - {name: exits, plugin: %s}\n' "$plugin" >"$work/exits.yaml"
fail() {
    echo "FAIL: $*"
    cat "$work/out" "$work/err"
    exit 1
}
"$tool" --config "$work/exits.yaml" --rows "Causal full" --quiet >"$work/out" 2>"$work/err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1"
grep -qF "attnmatrix: a plugin ended the process with exit() while running exits on" "$work/err" ||
    fail "no message naming the backend"
"$tool" --config "$work/exits.yaml" --rows "Causal full" --quiet --isolate --timeout 60 >"$work/out" 2>"$work/err"
status=$?
[ "$status" -eq 1 ] || fail "--isolate: exit status $status, expected 1"
grep -q '^| Causal full-seq | PASS | CRASH' "$work/out" || fail "--isolate: no CRASH cell beside the reference's PASS"
echo "ok"
