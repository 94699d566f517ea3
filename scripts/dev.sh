#!/bin/sh
# One entry point for the README's commands and for CI.
#   scripts/dev.sh matrix [attnmatrix args]  install deps, build, run attnmatrix (default config)
#   scripts/dev.sh test                      install deps, build, run the tests
#   scripts/dev.sh sanitize                  the tests again under ASan + UBSan (build-asan/)
#   scripts/dev.sh deps                      only install the Debian packages
# BUILD_DIR (default build) and BUILD_TYPE (default RelWithDebInfo) may be set.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=$(nproc 2>/dev/null || echo 2)

# The Debian packages libattn builds with; see README "Dependencies".
PACKAGES="build-essential cmake pkg-config libyaml-dev libcmocka-dev libdlpack-dev libdnnl-dev"

deps() {
    missing=""
    for p in $PACKAGES; do
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
    deps
    build "$BUILD_DIR"
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    ;;
sanitize)
    deps
    BUILD_TYPE=Debug build build-asan -DATTN_SANITIZE=address,undefined
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$JOBS"
    ;;
*)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
