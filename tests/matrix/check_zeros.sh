#!/bin/sh
# Usage: check_zeros.sh ATTNMATRIX ZEROS_PLUGIN CASES_DIR WORK_DIR
# The tolerance never accepts an all-zeros O for a row that sees a key, however large the
# inputs (tests/plugins/zeros.c): on large_inputs.yaml the references PASS every row and zeros
# FAILs every instance; on unjudgeable_inputs.yaml every cell says the instance cannot be
# judged; a float16 case whose inputs would overflow is refused at load (exit 2).
tool=$1
plugin=$2
cases=$3
work=$4
mkdir -p "$work" || exit 1
printf 'backends:\n  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n  - {name: synaptic-manual, plugin: attn_synaptic_manual}\n  - {name: zeros, plugin: %s}\n' \
    "$plugin" >"$work/zeros.yaml"
fail() {
    echo "FAIL: $*"
    cat "$work/out" "$work/err"
    exit 1
}

"$tool" --config "$work/zeros.yaml" --cases "$cases/large_inputs.yaml" --no-builtin --quiet --explain >"$work/out" 2>"$work/err"
status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (zeros fails)"
rows=$(grep -c '^| Scale ' "$work/out")
[ "$rows" -eq 5 ] || fail "$rows rows in the table, expected 5"
[ "$(grep -c '^| Scale [0-9e]* | PASS | PASS | FAIL' "$work/out")" -eq 5 ] || fail "every row should read PASS, PASS, FAIL"
# Per cell: pass/fail/... counts.  zeros: no instance passed; the references: none failed.
grep -E '^  zeros ' "$work/out" | grep -qvE ' FAIL +0/[1-9]' && fail "zeros passed some instance"
grep -E '^  (sdpa-ref|synaptic-manual) ' "$work/out" | grep -qvE ' PASS +[1-9][0-9]*/0/' && fail "a reference failed an instance"

"$tool" --config "$work/zeros.yaml" --cases "$cases/unjudgeable_inputs.yaml" --no-builtin --quiet --format json >"$work/out" 2>"$work/err"
status=$?
[ "$status" -eq 1 ] || fail "unjudgeable: exit status $status, expected 1"
[ "$(grep -o 'it cannot be judged: Q.K reaches [^"]*past 2^64' "$work/out" | wc -l)" -eq 6 ] ||
    fail "unjudgeable: every cell (2 rows x 3 backends) should say the instance cannot be judged"

printf 'cases:\n  - {row: overflow, q_len: 1, kv_len: 8, head_dim: 8, input_scale: 1e5, dtype: float16}\n' >"$work/f16.yaml"
"$tool" --config "$work/zeros.yaml" --cases "$work/f16.yaml" --no-builtin --quiet >"$work/out" 2>"$work/err"
status=$?
[ "$status" -eq 2 ] || fail "float16 overflow: exit status $status, expected 2"
grep -qF "f16.yaml:2:5: overflow: input_scale 100000 makes Q and K reach 3.46e+05, past float16's largest value 65504" "$work/err" ||
    fail "float16 overflow: no message naming the file, line, case and limit"
echo "ok: zeros fails every judgeable instance; unjudgeable ones are said to be; float16 overflow refused"
