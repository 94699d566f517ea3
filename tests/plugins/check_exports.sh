#!/bin/sh
# Usage: check_exports.sh NM PLUGIN.so
# A plugin's only defined dynamic symbol must be attn_plugin_query: anything else could
# clash with another plugin or the host (DESIGN.md, lesson 1).
nm_tool=$1
plugin=$2
exports=$("$nm_tool" -D --defined-only "$plugin" | awk '{print $NF}' | grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' | sort)
if [ "$exports" != "attn_plugin_query" ]; then
    echo "$plugin exports:" >&2
    echo "$exports" >&2
    echo "expected exactly: attn_plugin_query" >&2
    exit 1
fi
echo "$plugin exports only attn_plugin_query"
