#!/bin/sh
# Usage: check_table_escape.sh ATTNMATRIX UNAVAILABLE_PLUGIN WORK_DIR
# A backend whose name holds a '|' and an escape sequence cannot add a column to the markdown
# table or reach the terminal raw: every row keeps the header's number of cells.
tool=$1
plugin=$2
work=$3
mkdir -p "$work" || exit 1
esc=$(printf '\033')
printf 'backends:\n  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n  - {name: "evil| PASS |\\e[2J", plugin: %s}\n' \
    "$plugin" >"$work/escape.yaml"
"$tool" --config "$work/escape.yaml" --rows "Causal full" --dtype float32 --quiet >"$work/out" 2>&1
status=$?
fail() {
    echo "FAIL: $*"
    cat "$work/out"
    exit 1
}
[ "$status" -eq 0 ] || fail "exit status $status, expected 0 (a skipped backend is not a failure)"
grep -qF 'evil\| PASS \|\x1b[2J' "$work/out" || fail "the name is not escaped in the table"
grep -qF "$esc" "$work/out" && fail "an escape byte reached the output"
# Unescaped '|' per table line: the header's count on every line.
cells=$(grep '^|' "$work/out" | sed 's/\\|//g' | awk -F'|' '{print NF}' | sort -u)
[ "$(printf '%s\n' "$cells" | wc -l)" -eq 1 ] || fail "table lines have different cell counts: $cells"
echo "ok"
