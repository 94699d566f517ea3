# Sourced by the check_*.sh scripts of tests/python_host, whose first two arguments are
# ATTNMATRIX PYTHON.  An empty PYTHON means CMake found no suitable interpreter: the test is
# skipped visibly (exit 77, ctest's SKIP_RETURN_CODE) with the reason, never passed.
tool=$1
python=$2
skip_unless_python() { # WHAT: what the Python must have
    if [ -z "$python" ]; then
        echo "SKIP: no Python $1 was found when CMake configured (set -DATTN_TEST_PYTHON=/path/to/python)"
        exit 77
    fi
}
# Under valgrind (ctest -T memcheck: its preload library shows in LD_PRELOAD) an interpreter
# starts in seconds and numpy runs ~50 times slower: the scripts then check fewer rows and wait
# longer for a worker.
case "${LD_PRELOAD:-}" in
*vgpreload*) under_valgrind=1 ;;
*) under_valgrind=0 ;;
esac
work=$(mktemp -d)
out=$work/out
err=$work/err
trap 'rm -rf "$work"' EXIT
# Python objects in malloc'ed memory, not pymalloc's mmap'ed arenas: LeakSanitizer and valgrind
# then see every object reachable from the (never finalised) interpreter, and report none.
export PYTHONMALLOC=malloc
# torch's own leak at static initialisation (libtorch_cuda's CachingHostAllocator), not ours.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp"
# numpy's and torch's thread pools on a shared 2-core machine: one thread is plenty here.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

fail() {
    echo "FAIL: $*"
    echo "--- stdout:"
    cat "$out"
    echo "--- stderr:"
    cat "$err"
    exit 1
}

# expect_cell ROW BACKEND VERDICT: in attnmatrix's JSON, ROW's cell of BACKEND is VERDICT.
expect_cell() {
    grep -F "{\"case\": \"$1\"" "$out" | grep -qF "\"$2\": \"$3\"" || fail "row '$1': $2 should be $3"
}

# expect_reason TEXT: some reason holds TEXT.
expect_reason() {
    grep -qF -- "$1" "$out" || fail "no reason holds: $1"
}
