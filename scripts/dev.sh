#!/bin/sh
# One entry point for the README's commands and for CI.
#   scripts/dev.sh matrix [attnmatrix args]  install deps, build, run attnmatrix (default config)
#   scripts/dev.sh test                      install deps, build, run the tests (ctest, then `python`)
#   scripts/dev.sh python                    build and install the Python package into build-py/venv, pytest
#   scripts/dev.sh sanitize                  the tests again under ASan + UBSan (build-asan/)
#   scripts/dev.sh valgrind                  the tests and attnmatrix under valgrind memcheck
#   scripts/dev.sh tsan                      the concurrency and loader tests under TSan (build-tsan/)
#   scripts/dev.sh fuzz [SECONDS]            each libFuzzer target for SECONDS (default 60), clang
#   scripts/dev.sh deps                      only install the Debian packages
# BUILD_DIR (default build) and BUILD_TYPE (default RelWithDebInfo) may be set; for `python`,
# PYTHON (default python3, >= 3.9), ATTN_PY_TORCH=1 (install torch too and run its tests; off by
# default: PyPI's torch is the CUDA build, 5 GB) and ATTN_PY_CUDA=1 (build the flex-cuda plugin
# into the wheel; by default only where a GPU is found).
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=$(nproc 2>/dev/null || echo 2)

# The Debian packages libattn builds with; see README "Dependencies".
PACKAGES="build-essential cmake pkg-config libyaml-dev libcmocka-dev libdlpack-dev libdnnl-dev"

deps() { # deps [extra packages]
    missing=""
    for p in $PACKAGES "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "installing Debian packages:$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
}

build() { # build <dir> [cmake args]
    dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

# The Python package (python/): a virtualenv of its own under build-py/ (never the system's
# site-packages), `pip install ./python` (scikit-build-core runs this project's CMake, in
# build-py/cmake so that a second run only relinks), then pytest on the installed package.
python_venv() {
    venv=build-py/venv
    [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -q numpy pytest
}

python_package() {
    python_venv
    # torch from PyPI is the CUDA build (5 GB with its nvidia-* wheels, 90 s here); the CPU-only
    # index (download.pytorch.org) is not reachable from every machine this runs on.  Opt-in, so
    # that the README's test command and CI stay light; the numpy tests cover every backend.
    [ "${ATTN_PY_TORCH:-0}" = 1 ] && "$venv/bin/pip" install -q --no-cache-dir torch
    # flex-cuda in the wheel only where it can run (a GPU here) or when asked (ATTN_PY_CUDA=1, to
    # carry the wheel to a GPU machine): its kernels take minutes to compile on two cores.
    gpu=0
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && gpu=1
    cuda=""
    [ "${ATTN_PY_CUDA:-$gpu}" = 0 ] && cuda="--config-settings=cmake.define.CMAKE_CUDA_COMPILER=NOTFOUND"
    CMAKE_BUILD_PARALLEL_LEVEL=$JOBS "$venv/bin/pip" install -q ./python \
        --config-settings=build-dir="$PWD/build-py/cmake" $cuda
    # From the repository root, so that python/attn (the sources, without libattn) is not the
    # package imported: the tests run against what pip installed.
    "$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
deps) deps ;;
matrix)
    deps
    build "$BUILD_DIR"
    exec "$BUILD_DIR/bin/attnmatrix" "$@"
    ;;
test)
    deps python3 python3-venv
    # The venv first: CMake finds its Python (with numpy) for the python-host plugin's tests.
    python_venv
    build "$BUILD_DIR"
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    python_package
    ;;
python)
    deps python3 python3-venv
    python_package
    ;;
sanitize)
    deps
    BUILD_TYPE=Debug build build-asan -DATTN_SANITIZE=address,undefined
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$JOBS"
    ;;
valgrind)
    deps valgrind
    build "$BUILD_DIR"
    (cd "$BUILD_DIR" && ctest -T memcheck -j "$JOBS" --output-on-failure) || {
        grep -l "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]" "$BUILD_DIR"/Testing/Temporary/MemoryChecker.*.log 2>/dev/null |
            head -3 | xargs -r cat >&2
        exit 1
    }
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q \
        "$BUILD_DIR/bin/attnmatrix" --quiet >/dev/null
    echo "valgrind: tests and attnmatrix clean"
    ;;
tsan)
    deps
    BUILD_TYPE=Debug build build-tsan -DATTN_SANITIZE=thread
    TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -R "test_threads|test_loader|test_reference|test_python_threads"
    ;;
fuzz)
    deps clang libclang-rt-14-dev
    seconds=${1:-60}
    # Only the fuzz targets (libattn and the tools' .npy reader): the plugins are not fuzzed.
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DATTN_FUZZ=ON -DATTN_BUILD_TESTS=OFF >/dev/null
    cmake --build build-fuzz -j "$JOBS" --target fuzz_config fuzz_casefile fuzz_npy fuzz_problem fuzz_expr
    for target in config casefile npy problem expr; do
        # New inputs go to a scratch folder; the committed corpus is only read.
        scratch=$(mktemp -d)
        echo "fuzz_$target: ${seconds} s"
        build-fuzz/fuzz/fuzz_$target -max_total_time="$seconds" -print_final_stats=1 "$scratch" "fuzz/corpus/$target" \
            >"$scratch.log" 2>&1 || { tail -60 "$scratch.log" >&2; exit 1; }
        grep -E "stat::number_of_executed_units" "$scratch.log" || true
        rm -rf "$scratch" "$scratch.log"
    done
    ;;
*)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
