#!/bin/bash
# flex-cpu's AMX-BF16 path (fcpu_amx.h, issue 7) on the GPU machine's Xeon, in one run.  From the
# repository root, with a build staged into .device (../shared/device/stage BUILD .device; the
# build needs the tests, i.e. a normal build of the tree):
#
#   OUT=/some/dir plugins/flex_cpu/bench/xeon_amx.sh [THREADS...]   (default: 2 16)
#
# 1. test_flex_amx: the tile instructions against their C emulation (kernels on odd shapes),
#    and the plugin with amx: auto and amx: emulate against a float64 loop; prints PASS/FAIL
#    and what the AMX probe said.  Where the CPU has no AMX those two tests say SKIPPED.
# 2. attnmatrix in bfloat16 on the whole table, flex-cpu only, amx: auto under the default
#    tiles and under small tiles (the table's small instances then have items on AMX); says
#    how many runs put items on AMX (from the plugin's debug log).
# 3. bfloat16 prefill timed (attnbench convention: 3 warm-ups, median of 10) with amx: auto
#    (default tiles, and q_tile 128 / kv_tile 256 to check the tile choice) and amx: off
#    (oneDNN 2.6), next to torch's CPU SDPA on the same shapes, pinned to the first N cores;
#    one markdown table per thread count.
# Every step has its own timeout, 300 s at most in all (about a minute expected); logs, JSON
# and the configs go to $OUT.  A failed or timed-out step leaves its log and '-' cells.
set -u
B=${ATTN_DEVICE_DIR:-.device}
[ -d "$B/bin" ] || { echo "xeon_amx: no staged build in '$B' (../shared/device/stage BUILD .device)" >&2; exit 2; }
B=$(cd "$B" && pwd)
OUT=${OUT:-/tmp/flex_cpu_amx}
SHAPES=plugins/flex_cpu/bench/bf16_prefill.yaml
PY=plugins/flex_cpu/bench/torch_sdpa_cpu.py
PLUGIN=$B/plugins/libattn_flex_cpu.so
mkdir -p "$OUT"
# libattn's soname link is not staged (ELF files only): made here, as xeon_side_by_side.sh does
for lib in "$B"/core/libattn.so.*.*.*; do [ -f "$lib" ] && ln -sf "$(basename "$lib")" "$B/core/libattn.so.0"; done
export LD_LIBRARY_PATH=$B/deplibs:$B/core:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
missing=$(ldd "$PLUGIN" "$B/bin/attnbench" "$B/tests/flex_cpu/test_flex_amx" 2>&1 | grep 'not found' | sort -u)
[ -z "$missing" ] || echo "xeon_amx: libraries not found (copy them into $B/deplibs): $missing"

{
    date -u '+%Y-%m-%d %H:%M UTC'
    grep -m1 'model name' /proc/cpuinfo
    echo "nproc $(nproc)"
    echo "AMX flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep '^amx' | tr '\n' ' ')"
    echo "kernel $(uname -r)"
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

step() { # step FILE LIMIT_S COMMAND...: stdout in $OUT/FILE, stderr in $OUT/FILE.err
    local file=$1 limit=$2 start=$SECONDS
    shift 2
    timeout "$limit" "$@" > "$OUT/$file" 2> "$OUT/$file.err"
    local rc=$?
    echo "== $file rc=$rc $((SECONDS - start))s (limit ${limit}s, load $(cut -d' ' -f1 /proc/loadavg))"
    return $rc
}

# ---- 1. the kernels and the plugin against the emulation and float64 ----
echo
echo "### 1. test_flex_amx (AMX tile instructions vs emulation, plugin vs float64)"
if step test_flex_amx.txt 45 env ATTN_FLEX_CPU_PATH="$PLUGIN" "$B/tests/flex_cpu/test_flex_amx"; then
    verdict=PASS
else
    verdict=FAIL
fi
grep -hE '^\[ *(OK|FAILED|SKIPPED|ERROR) *\]|skipped:|hardware vs emulation|largest|debug: oneDNN' \
    "$OUT/test_flex_amx.txt" "$OUT/test_flex_amx.txt.err" | sort -u | cut -c1-240
grep -q 'SKIPPED \] hardware_matches_emulation' "$OUT/test_flex_amx.txt" && verdict="$verdict (AMX tests SKIPPED: no AMX)"
echo "test_flex_amx: $verdict"

# ---- 2. the table in bfloat16, flex-cpu only ----
cat > "$OUT/amx_matrix.yaml" <<EOF
backends:
  - name: sdpa-ref
    plugin: $B/plugins/libattn_sdpa_ref.so
  - name: flex-amx
    plugin: $PLUGIN
    options: {amx: auto, threads: 4}
  - name: flex-amx-small-tiles
    plugin: $PLUGIN
    options: {amx: auto, q_tile: 48, kv_tile: 32, edge_tile: 16, threads: 4}
  - name: flex-amx-odd-tiles
    plugin: $PLUGIN
    options: {amx: auto, q_tile: 40, kv_tile: 48, edge_tile: 16, threads: 2, split: "off"}
EOF
echo
echo "### 2. attnmatrix --dtype bfloat16, flex-cpu with amx: auto"
step matrix_bf16.txt 75 env ATTN_LOG=debug "$B/bin/attnmatrix" --config "$OUT/amx_matrix.yaml" --dtype bfloat16 --quiet
grep '^| ' "$OUT/matrix_bf16.txt" | cut -d'|' -f1-6
amx_runs=$(grep -o 'split pieces, [0-9]* on AMX' "$OUT/matrix_bf16.txt.err" | awk '$3 > 0' | wc -l)
all_runs=$(grep -c 'split pieces, ' "$OUT/matrix_bf16.txt.err")
echo "flex-cpu runs with items on AMX: $amx_runs of $all_runs"
grep -m1 -o 'amx [a-z].*' "$OUT/matrix_bf16.txt.err" | cut -c1-200

# ---- 3. bfloat16 prefill: amx auto / off / torch ----
cat > "$OUT/amx_bench.yaml" <<EOF
backends:
  - name: sdpa-ref
    plugin: $B/plugins/libattn_sdpa_ref.so
  - name: amx
    plugin: $PLUGIN
    options: {amx: auto}
  - name: amx-q128-kv256
    plugin: $PLUGIN
    options: {amx: auto, q_tile: 128, kv_tile: 256}
  - name: onednn
    plugin: $PLUGIN
    options: {amx: "off"}
EOF
echo
echo "### 3. bfloat16 prefill, ms (median of 10)"
"$B/bin/attnmatrix" --config "$OUT/amx_bench.yaml" --list 2>&1 | grep -o 'tiles on AMX: .*; q_tile [0-9]*' | sort -u
threads=${*:-2 16}
for n in $threads; do
    cores=0-$((n - 1))
    if [ "$n" -le 4 ]; then t_flex=60 t_torch=60; else t_flex=25 t_torch=35; fi
    step "flex_$n.json" $t_flex env OMP_NUM_THREADS="$n" taskset -c "$cores" "$B/bin/attnbench" \
        --config "$OUT/amx_bench.yaml" --backend amx --backend amx-q128-kv256 --backend onednn --shapes "$SHAPES" \
        --warmup 3 --repeats 10 --format json
    step "torch_$n.txt" $t_torch env OMP_NUM_THREADS="$n" taskset -c "$cores" python3 "$PY" time --shapes "$SHAPES" \
        --threads "$n" --warmup 3 --repeats 10 --json "$OUT/torch_$n.json"
done

for n in $threads; do
    python3 - "$n" "$OUT/flex_$n.json" "$OUT/torch_$n.json" <<'EOF' | tee "$OUT/table_$n.md"
import json, sys
n, flex_path, torch_path = sys.argv[1:]
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"results": []}
flex, torch = load(flex_path), load(torch_path)
ms = {}
for r in flex["results"]:
    if r.get("status") == "ok":
        ms[(r["backend"], r["case"])] = r["ms_median"]
t = {r["case"]: r["ms_median"] for r in torch["results"] if r.get("status") == "ok"}
cases = list(dict.fromkeys([r["case"] for r in flex["results"]] + list(t)))
fmt = lambda x: f"{x:.2f}" if x else "-"
speed = lambda a, b: f"**{b / a:.2f}x**" if a and b else "-"
print(f"\n#### {n} threads (torch {torch.get('torch', '?')}, CPU capability {torch.get('cpu_capability', '?')})\n")
print("| case | amx ms | amx q128/kv256 ms | onednn (amx off) ms | torch ms | amx speed / torch | amx off speed / torch |")
print("|---|---|---|---|---|---|---|")
for c in cases:
    a, a2, o, tt = ms.get(("amx", c)), ms.get(("amx-q128-kv256", c)), ms.get(("onednn", c)), t.get(c)
    print(f"| {c} | {fmt(a)} | {fmt(a2)} | {fmt(o)} | {fmt(tt)} | {speed(a, tt)} | {speed(o, tt)} |")
EOF
done
exit 0
