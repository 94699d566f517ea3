#!/bin/sh
# Usage: check_expressions.sh ATTNMATRIX ZEROS_PLUGIN CASES_FILE WORK_DIR
# cases/expressions.yaml (SPEC.md "Expressions"): sdpa-ref PASSes every row, including the
# built-ins in expression form, and so does synaptic-manual; the all-zeros backend FAILs every
# row (the tolerance of a score_mod is no blank cheque); a backend that does not read
# expressions says "not implemented" on every row; the eager float32 baseline stays within
# the tolerance.
tool=$1
plugin=$2
cases=$3
work=$4
rows=13
mkdir -p "$work" || exit 1
printf 'backends:\n  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n  - {name: synaptic-manual, plugin: attn_synaptic_manual}\n  - {name: flex-cpu, plugin: attn_flex_cpu}\n  - {name: zeros, plugin: %s}\n' \
    "$plugin" >"$work/expr.yaml"
fail() {
    echo "FAIL: $*"
    cat "$work/out" "$work/err"
    exit 1
}

"$tool" --config "$work/expr.yaml" --cases "$cases" --no-builtin --quiet --explain >"$work/out" 2>"$work/err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (zeros fails)"
[ "$(grep -cE '^\| [^|]+ \| PASS \| PASS \| (UNSUPPORTED|SKIP) \[[0-9]+\] \| FAIL ' "$work/out")" -eq $rows ] ||
    fail "every one of the $rows rows should read PASS, PASS, UNSUPPORTED (or SKIP where flex-cpu is not built), FAIL"
grep -qE '^\[[0-9]+\] flex-cpu, .*SKIP|plugin not built' "$work/out" ||
    [ "$(grep -c 'flex-cpu: not implemented: the problem sets [a-z_]*, which this plugin does not read' "$work/out")" -eq $rows ] ||
    fail "flex-cpu should say 'not implemented' on every row"
grep -E '^  zeros ' "$work/out" | grep -qvE ' FAIL +0/[1-9]' && fail "zeros passed some instance"

"$tool" --config "$work/expr.yaml" --cases "$cases" --no-builtin --quiet --format json >"$work/out" 2>"$work/err"
ratios=$(grep -o '"baseline_ratio": [0-9.e+-]*' "$work/out" | sed 's/.*: //')
[ "$(echo "$ratios" | wc -l)" -eq $rows ] || fail "a baseline ratio per row expected"
for r in $ratios; do
    awk -v r="$r" 'BEGIN { exit !(r > 0 && r <= 1) }' || fail "the eager baseline's err/tolerance is $r, outside (0, 1]"
done
echo "ok: sdpa-ref and synaptic-manual PASS, zeros FAIL, flex-cpu not implemented, baseline within tolerance on all $rows expression rows"
