#!/bin/sh
# Usage: check_attninfo.sh ATTNINFO TEST_PLUGIN_DIR CONFIG BAD_CONFIG MISBEHAVE_ENTRY_DIR
# attninfo lists every plugin of the search path with its ABI version, device and
# capabilities, and every candidate that failed to load with the loader's full reason.
# TEST_PLUGIN_DIR (tests/plugins' build folder, full of plugins broken on purpose) is put on
# $ATTN_PLUGIN_PATH, so exit status 1 is expected.  MISBEHAVE_ENTRY_DIR holds plugins that
# segfault, hang and _exit(3) in their entry point: each plugin is asked in a worker process,
# so those are listed as broken and the listing goes on.
tool=$1
plugins=$2
config=$3
bad_config=$4
entry_dir=$5
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
    echo "FAIL: $*"
    cat "$out"
    exit 1
}
expect() {
    grep -qF -- "$1" "$out" || fail "expected: $1"
}

ATTN_PLUGIN_PATH="$plugins" "$tool" --config "$config" >"$out" 2>&1
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (broken plugins in the search path)"
expect "libattn host ABI 1.2"
# The config's backends, with what they say about themselves.
expect "  sdpa-ref: "
expect "Golden: "
expect "Baseline: "
expect "plugin sdpa-ref 1.0.0, ABI 1.2, device cpu:0"
expect "capabilities: mode golden; dtypes float32 float16 bfloat16"
expect "plugin wrong-topleft 1.0.0, ABI 1.2, device cpu:0"
# The search path: the folder, each plugin found, and each failure in full.
expect "$plugins (ATTN_PLUGIN_PATH)"
expect "plugin compat-1.0 1.0.0, ABI 1.0, device cpu:0"
expect "capabilities: not described (compat-1.0: plugin implements ABI 1.0: no describe())"
expect "libattn_fake_abi_new.so: plugin speaks ABI 2.0, this host speaks 1.2"
expect "is not an attention plugin: no symbol 'attn_plugin_query'"
expect "plugin table leaves the required entry 'run' NULL"
expect "UNAVAILABLE on this machine: "
expect "(next to the executable)"

# --verbose shows every folder and file considered, the ones passed over too.
ATTN_PLUGIN_PATH="$plugins:$plugins/no-such-folder" "$tool" --config "$config" --verbose >"$out" 2>&1
expect "Makefile: skipped, not a .so file"
expect "$plugins/no-such-folder (ATTN_PLUGIN_PATH): No such file or directory, skipped"
expect "(install prefix)"

# A broken config is reported, the search path still listed, and the exit status is 2.
"$tool" --config "$bad_config" >"$out" 2>&1
status=$?
[ "$status" -eq 2 ] || fail "broken config: exit status $status, expected 2"
expect "Config: BROKEN: "
expect "Plugins in the search path:"

# expect_after NAME TEXT: the line after NAME's line (its report) matches TEXT.
expect_after() {
    grep -A1 -F -- "$1" "$out" | tail -n 1 | grep -qE -- "$2" || fail "expected after $1: $2"
}
# stdout only: what a crashing worker says on stderr (a sanitizer's report) would come between
# a plugin's line and its verdict.
ATTN_PLUGIN_PATH="$entry_dir" timeout 120 "$tool" --timeout 2 >"$out" 2>/dev/null
status=$?
[ "$status" -ne 124 ] || fail "plugins broken in their entry point: attninfo did not end within 120 s"
[ "$status" -eq 1 ] || fail "plugins broken in their entry point: exit status $status, expected 1"
expect "$entry_dir (ATTN_PLUGIN_PATH)"
# A sanitizer build ends a segfaulting worker with an exit status instead of the signal.
expect_after "libattn_misbehave_entry_crash.so" "CRASHED: killed by SIGSEGV|EXITED with status [1-9]"
expect_after "libattn_misbehave_entry_hang.so" "TIMED OUT after 2 s"
expect_after "libattn_misbehave_entry_exit.so" "EXITED with status 3"
# The listing went on: the config's backends and the plugins next to the executable.
expect "(next to the executable)"
[ "$(grep -c 'plugin sdpa-ref 1.0.0, ABI 1.2' "$out")" -ge 2 ] || fail "sdpa-ref should be listed as a backend and a file"

"$tool" --timeout soon >"$out" 2>&1
status=$?
[ "$status" -eq 2 ] || fail "--timeout soon: exit status $status, expected 2"
expect "--timeout 'soon' is not a number of seconds"
echo "ok"
