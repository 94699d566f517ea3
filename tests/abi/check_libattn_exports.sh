#!/bin/sh
# Usage: check_libattn_exports.sh NM LIBATTN.so HOST_HEADER...
# A shared library's exported symbols are its ABI: libattn.so must export exactly the functions
# that the host headers declare with ATTN_API, no internal helper and no missing function.
nm_tool=$1
library=$2
shift 2
exported=$("$nm_tool" -D --defined-only "$library" | awk '{print $NF}' |
    grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' | sort)
declared=$(grep -h '^ATTN_API ' "$@" | sed 's/(.*//; s/.*[ *]//' | sort)
if [ -z "$declared" ]; then
    echo "no ATTN_API declaration found in: $*" >&2
    exit 1
fi
if [ "$exported" != "$declared" ]; then
    echo "libattn.so exports differ from the ATTN_API declarations of the host headers" >&2
    echo "(< exported only, > declared only):" >&2
    printf '%s\n' "$exported" >"${TMPDIR:-/tmp}/attn_exported.$$"
    printf '%s\n' "$declared" >"${TMPDIR:-/tmp}/attn_declared.$$"
    diff "${TMPDIR:-/tmp}/attn_exported.$$" "${TMPDIR:-/tmp}/attn_declared.$$" | grep '^[<>]' >&2
    rm -f "${TMPDIR:-/tmp}/attn_exported.$$" "${TMPDIR:-/tmp}/attn_declared.$$"
    exit 1
fi
echo "libattn.so exports the $(printf '%s\n' "$exported" | wc -l) functions the host headers declare"
