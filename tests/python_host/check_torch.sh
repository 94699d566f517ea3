#!/bin/sh
# Usage: check_torch.sh ATTNMATRIX PYTHON SOURCE_DIR
# configs/torch.yaml (run from the source tree, as its relative `path` wants) with the Python
# that has torch ($ATTN_PYTHON, the plugin's default when a config names none): torch-sdpa's
# math back end PASSes every row SDPA can express, and says why on every other.
. "$(dirname "$0")/common.sh"
skip_unless_python "with torch"
cd "$3" || fail "no source dir $3"
if [ "$under_valgrind" -eq 1 ]; then
    echo "SKIP: torch under valgrind: its static initialisers leak (torch's, not python-host's);"
    echo "      the plain and sanitizer runs check this config, tests/python_host's others run here"
    exit 77
fi
ATTN_PYTHON=$python "$tool" --config configs/torch.yaml --format json --quiet >"$out" 2>"$err"
status=$?
[ "$status" -eq 0 ] || fail "exit status $status, expected 0 (no FAIL)"
for row in "Causal full-seq" "KV decode (Tq==1)" "KV chunk decode (Tk>Tq>1)" "MHA" "GQA" "MQA" \
    "Padding mask (ragged batches)" "Bidirectional attention" "Sliding window" "ALiBi" "Document mask" \
    "Prefix-LM" "Odd sizes" "Long context decode"; do
    expect_cell "$row" torch-sdpa PASS
done
expect_cell "Attention dropout" torch-sdpa UNSUPPORTED
expect_reason "SPEC.md's Philox stream (seed, offset, b, h, pos, j) cannot be reproduced"
expect_cell "Softcap" torch-sdpa UNSUPPORTED
expect_reason "softcap: SDPA cannot transform scores"
expect_cell "Synaptic augmentation" torch-sdpa UNSUPPORTED
expect_cell "LSE output" torch-sdpa UNSUPPORTED
expect_reason "LSE: SDPA's public API does not return the log-sum-exp"
echo "ok: torch-sdpa (math) PASS or UNSUPPORTED with the reason on every row"
