# Sourced by the tool scripts (check_attnrun.sh, check_attnbench.sh) after they set $tool:
# a scratch folder $dir, fail() that shows the last output, and run EXPECTED_STATUS ARGS...
# that runs the tool with its output in $dir/out and $dir/err.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() {
    echo "FAIL: $*"
    for f in "$dir"/out "$dir"/err; do [ -f "$f" ] && { echo "--- $(basename "$f"):"; cat "$f"; }; done
    exit 1
}

run() {
    want=$1
    shift
    "$tool" "$@" >"$dir/out" 2>"$dir/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "$(basename "$tool") $*: exit status $got, expected $want"
}
