# Sourced by the check_isolate*.sh scripts, whose arguments are ATTNMATRIX CONFIG CASES: names
# them, makes the files for attnmatrix's stdout and stderr, and gives fail, which shows both.
# A script that leaves something else behind on failure redefines on_fail.
tool=$1
config=$2
cases=$3
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

on_fail() {
    :
}

fail() {
    echo "FAIL: $*"
    echo "--- stdout:"
    cat "$out"
    echo "--- stderr:"
    cat "$err"
    on_fail
    exit 1
}
