#!/bin/sh
# Usage: check_install.sh CMAKE BUILD_DIR SOURCE_DIR LIBDIR WORK_DIR SANITIZED
# The README's out-of-tree plugin steps, end to end, against the installed package only:
#   1. cmake --install into a fresh prefix: headers, libattn, plugins, tools, config, CMake
#      package, attn.pc and the template are where they belong;
#   2. the installed template builds out of tree with find_package(attn) (CMAKE_PREFIX_PATH =
#      the prefix, nothing from the source tree) and with the pkg-config Makefile, warning-free;
#   3. the installed attnmatrix runs its config and the template's column PASSes; attninfo
#      lists it; installed into attn_PLUGIN_DIR it is found by bare name.
cmake=$1
build=$2
source=$3
libdir=$4
work=$5
sanitized=$6
prefix=$work/prefix
log=$work/log
fail() {
    echo "FAIL: $*"
    [ -f "$log" ] && cat "$log"
    exit 1
}
run() { # run CMD...: its output goes to the log, which a failure prints
    "$@" >"$log" 2>&1 || fail "$*"
}

rm -rf "$work"
mkdir -p "$work" || fail "cannot create $work"
unset ATTN_PLUGIN_PATH # discovery must come from the installed tree itself

# 1. Install.
run "$cmake" --install "$build" --prefix "$prefix"
for file in include/attn/plugin/attn_plugin.h include/attn/host/attn_select.h "$libdir/libattn.so" "$libdir/pkgconfig/attn.pc" \
    "$libdir/cmake/attn/attnConfig.cmake" "$libdir/cmake/attn/attnConfigVersion.cmake" "$libdir/cmake/attn/attnTargets.cmake" \
    "$libdir/attn/plugins/libattn_sdpa_ref.so" bin/attnmatrix bin/attninfo bin/attnrun bin/attnbench \
    share/attn/default.yaml share/attn/templates/plugin/naive_cpu.c share/doc/libattn/PLUGINS.md; do
    [ -f "$prefix/$file" ] || fail "not installed: $prefix/$file"
done

# 2a. The template, copied from the installed tree, built with CMake against the prefix alone.
# (cmake -E, not cp: under `ctest -T memcheck` valgrind follows cp, which leaks by design)
run "$cmake" -E copy_directory "$prefix/share/attn/templates/plugin" "$work/plugin"
cd "$work/plugin" || fail "cd"
run "$cmake" -S . -B build -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
run "$cmake" --build build
[ -f build/libattn_naive_cpu.so ] || fail "the template did not build build/libattn_naive_cpu.so"
grep -q "attn_DIR:PATH=$prefix/$libdir/cmake/attn" build/CMakeCache.txt || fail "find_package(attn) did not use the prefix"
if grep -qF -- "$source/include" build/compile_commands.json; then fail "the template compiled against the source tree"; fi
exports=$(nm -D --defined-only build/libattn_naive_cpu.so 2>/dev/null | awk '{print $NF}' | grep -v '^_' | sort)
[ -z "$exports" ] || [ "$exports" = "attn_plugin_query" ] || fail "the template exports more than attn_plugin_query: $exports"

# 2b. The same with pkg-config (the Makefile), and a host program with --cflags --libs.
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
export PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs attn) || fail "pkg-config --cflags --libs attn"
case "$flags" in *"-I$prefix/include"*"-L$prefix/$libdir"*"-lattn"*) ;; *) fail "pkg-config says: $flags" ;; esac
[ "$(pkg-config --variable=plugindir attn)" = "$prefix/$libdir/attn/plugins" ] || fail "pkg-config plugindir"
if command -v make >/dev/null 2>&1; then
    run "$cmake" -E make_directory "$work/plugin_pc"
    run "$cmake" -E copy naive_cpu.c Makefile "$work/plugin_pc/"
    run make -C "$work/plugin_pc" CFLAGS="-O2 -Wall -Wextra -Werror"
    [ -f "$work/plugin_pc/build/libattn_naive_cpu.so" ] || fail "make did not build the plugin"
fi
if [ "$sanitized" != "1" ]; then # a sanitized libattn needs its runtime loaded first
    printf '#include <attn/host/attn_host.h>\n#include <stdio.h>\nint main(void) { puts(attn_status_name(ATTN_E_ABI)); return 0; }\n' >"$work/host.c"
    # shellcheck disable=SC2086 # the flags are words
    run cc -o "$work/host" "$work/host.c" $flags -Wl,-rpath,"$prefix/$libdir"
    [ "$("$work/host")" = "ABI mismatch" ] || fail "a host program built with pkg-config does not run"
fi

# 3. The installed attnmatrix on the template's own config (run from / : paths are the
#    config's), then attninfo, then the plugin installed and named bare.
cd / || fail "cd /"
"$prefix/bin/attnmatrix" --config "$work/plugin/naive_cpu.yaml" --rows "Causal" --quiet --format json >"$log" 2>&1 ||
    fail "attnmatrix on the template's config (exit $?)"
grep -qF '{"case": "Causal full-seq", "cells": {"sdpa-ref": "PASS", "naive-cpu": "PASS"}' "$log" ||
    fail "the naive-cpu column does not PASS"
run "$prefix/bin/attninfo" --config "$work/plugin/naive_cpu.yaml"
grep -qF "sdpa-ref: $prefix/$libdir/attn/plugins/libattn_sdpa_ref.so" "$log" &&
    grep -qF "Golden: $prefix/$libdir/attn/plugins/libattn_sdpa_ref.so" "$log" ||
    fail "sdpa-ref was not found in the installed plugin folder"
grep -qF "plugin naive-cpu 1.0.0, ABI 1.2, device cpu:0" "$log" || fail "attninfo does not list naive-cpu"
grep -qF "capabilities: dtypes float32 float16 bfloat16" "$log" || fail "attninfo does not show describe()"
grep -qF "$prefix/$libdir/attn/plugins (next to libattn)" "$log" || fail "attninfo does not list the installed plugin folder"

run "$cmake" --install "$work/plugin/build"
[ -f "$prefix/$libdir/attn/plugins/libattn_naive_cpu.so" ] || fail "the template's install rule missed attn_PLUGIN_DIR"
printf 'backends:\n  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n  - {name: naive, plugin: attn_naive_cpu}\n' \
    >"$work/bare.yaml"
"$prefix/bin/attnmatrix" --config "$work/bare.yaml" --rows "KV decode" --quiet --format json >"$log" 2>&1 ||
    fail "attnmatrix with the plugin named bare (exit $?)"
grep -qF '"naive": "PASS"' "$log" || fail "the installed plugin, named bare, does not PASS"
echo "ok: installed to $prefix; the template builds out of tree and PASSes"
