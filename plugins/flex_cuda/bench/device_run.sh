#!/bin/bash
# One GPU-machine run of flex-cuda's whole suite, from the repository root, with the build
# staged into .device (../shared/device/stage build-cuda .device).  Logs go to $OUT.
#   device_run.sh [test] [sanitize] [matrix] [bench] [loops] [merge-ab] [variants] [test-variants] [blocks] [ncu]
#                 [ncu-src] [anchor] [anchor-noflex] [probe] [persist-ab] [sanitize-persist] [margins]
# `margins` runs flex-cuda under SPEC.md's tolerance over 100 input draws per dtype (12 processes
# of 25 draws: the reference is CPU work) and writes each row's worst err/tolerance to margins.txt.
# `variants` times this build against every build staged as .device/plugins/libattn_flex_cuda_v<name>.so
# (a baseline commit's build as _vbase.so, compile-time variants, ...), prefill shapes, in one
# process; `test-variants` runs the cmocka suite on each of those.  `probe` runs a build made
# with -DFC_BLOCK_PROBE, staged as .device/plugins/libattn_flex_cuda_probe.so (fc_probe.cuh),
# on probe_shapes.yaml: one line of cycles per block step for each launch.
# Each step has its own time limit so that one slow step still leaves the others' logs.
set -u
# libattn is a shared library whose soname link the stage script (ELF files only) leaves out
for lib in .device/core/libattn.so.*.*.*; do [ -f "$lib" ] && ln -sf "$(basename "$lib")" .device/core/libattn.so.0; done
export LD_LIBRARY_PATH=$PWD/.device/deplibs:$PWD/.device/core:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
export ATTN_TEST_FLEX_CUDA=$PWD/.device/plugins/libattn_flex_cuda.so ATTN_TEST_SDPA_REF=$PWD/.device/plugins/libattn_sdpa_ref.so
B=.device
OUT=${OUT:-/tmp/fc_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/gpu.txt" 2>&1
for step in "$@"; do
  start=$(date +%s)
  case $step in
    test) timeout 300 $B/tests/flex_cuda/test_flex_cuda > "$OUT/test.txt" 2>&1 ;;
    sanitize) timeout 240 compute-sanitizer --tool memcheck --print-limit 20 $B/tests/flex_cuda/test_flex_cuda > "$OUT/sanitize.txt" 2>&1 ;;
    sanitize-persist) for tool in memcheck racecheck synccheck; do # the persistent kernel on persistent_shapes.yaml
           ATTN_LOG=debug timeout 120 compute-sanitizer --tool $tool --print-limit 20 $B/bin/attnbench --backend flex-cuda \
             --shapes plugins/flex_cuda/bench/persistent_shapes.yaml --warmup 0 --repeats 1 > "$OUT/sanitize_$tool.txt" 2>&1
           echo "   $tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitize_$tool.txt" | tr '\n' ' ')" \
             "$(grep -c 'persistent kernel' "$OUT/sanitize_$tool.txt") launches on the persistent kernel"
         done ;;
    matrix) timeout 300 $B/bin/attnmatrix --quiet --pairs > "$OUT/matrix.txt" 2>&1 ;;
    bench) timeout 300 $B/bin/attnbench --backend flex-cuda --preset all > "$OUT/attnbench.txt" 2>&1 ;;
    loops) timeout 300 $B/bin/attnbench --config plugins/flex_cuda/bench/main_loops.yaml --backend flex-cuda \
             --backend flex-cuda-mma --preset prefill > "$OUT/loops.txt" 2>&1 ;;
    merge-ab) timeout 240 $B/bin/attnbench --config plugins/flex_cuda/bench/merge_ab.yaml --backend flex-cuda \
           --backend flex-cuda-2launch --preset decode --repeats 30 > "$OUT/merge_ab.txt" 2>&1 ;;
    variants) # the config names only the variant builds that are staged (a missing plugin fails a config)
         cfg=$OUT/variants.yaml backends="--backend flex-cuda"
         printf 'backends:\n  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n  - {name: flex-cuda, plugin: attn_flex_cuda}\n' > "$cfg"
         for v in $B/plugins/libattn_flex_cuda_v*.so; do
           [ -f "$v" ] || continue
           name=flex-cuda-$(basename "$v" .so | sed 's/.*_//')
           printf '  - {name: %s, plugin: %s}\n' "$name" "$PWD/$v" >> "$cfg"
           backends="$backends --backend $name"
         done
         timeout 300 $B/bin/attnbench --config "$cfg" $backends --preset prefill --repeats 20 > "$OUT/variants.txt" 2>&1 ;;
    test-variants) for v in $B/plugins/libattn_flex_cuda_v*.so; do
           ATTN_TEST_FLEX_CUDA=$PWD/$v timeout 150 $B/tests/flex_cuda/test_flex_cuda > "$OUT/test_$(basename "$v" .so).txt" 2>&1
           echo "== $(basename "$v"): $(grep -E 'PASSED|FAILED' "$OUT/test_$(basename "$v" .so).txt" | tr '\n' ' ')"
         done ;;
    persist-ab) timeout 300 $B/bin/attnbench --config plugins/flex_cuda/bench/persistent_ab.yaml --backend flex-cuda \
           --backend flex-cuda-grid --backend flex-cuda-p192 --backend flex-cuda-g192 --preset prefill \
           > "$OUT/persist_ab.txt" 2>&1 ;;
    blocks) timeout 240 $B/bin/attnbench --config plugins/flex_cuda/bench/blocks_ab.yaml --backend flex-cuda \
           --backend flex-cuda-128 --backend flex-cuda-192 --backend flex-cuda-64 --preset prefill > "$OUT/blocks.txt" 2>&1 ;;
    ncu-src) timeout 300 ncu --set full --import-source yes --kernel-name regex:fc_attn_wgmma --launch-count 2 \
           --export /tmp/prefill $B/bin/attnbench --backend flex-cuda --shapes plugins/flex_cuda/bench/profile_prefill.yaml \
           --warmup 0 --repeats 1 > "$OUT/ncu_src.log" 2>&1 &&
         ncu --import /tmp/prefill.ncu-rep --page source --csv --print-source sass > "$OUT/ncu_source.csv" 2>&1 &&
         ncu --import /tmp/prefill.ncu-rep --page raw --csv > "$OUT/ncu_raw.csv" 2>&1 ;;
    ncu) timeout 240 ncu --clock-control none --kernel-name regex:fc_attn_ --launch-count 4 \
           --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats \
           --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
           $B/bin/attnbench --backend flex-cuda --shapes plugins/flex_cuda/bench/profile_shapes.yaml --warmup 0 --repeats 1 \
           > "$OUT/ncu.txt" 2>&1 ;;
    probe) cfg=$OUT/probe.yaml
         printf 'backends:\n  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n  - {name: probe, plugin: %s}\n' \
           "$PWD/$B/plugins/libattn_flex_cuda_probe.so" > "$cfg"
         FC_PROBE=1 timeout 200 $B/bin/attnbench --config "$cfg" --backend probe \
           --shapes plugins/flex_cuda/bench/probe_shapes.yaml --warmup 0 --repeats 1 > "$OUT/probe.txt" 2>&1 ;;
    anchor) timeout 420 python3 plugins/flex_cuda/bench/torch_anchor.py $B/plugins/libattn_flex_cuda.so --json "$OUT/anchor.json" > "$OUT/anchor.txt" 2>&1 ;;
    margins) printf 'backends:\n  - {name: flex-cuda, plugin: attn_flex_cuda}\n' > "$OUT/margins.yaml"
         for dt in float32 float16 bfloat16; do
           for part in 0 1 2 3; do
             timeout 280 $B/bin/attnmatrix --config "$OUT/margins.yaml" --dtype $dt --first-draw $((part * 25)) --seeds 25 \
               --quiet --format json > "/tmp/margins_${dt}_$part.json" 2>> "$OUT/margins.err" &
           done
         done
         wait
         python3 - "$OUT/margins.txt" /tmp/margins_*.json <<'PY'
import json, sys
worst = {}
for path in sys.argv[2:]:
    dtype = path.split('_')[1]
    for row in json.load(open(path))['rows']:
        key = (row['case'], dtype)
        cell, ratio = row['cells']['flex-cuda'], row['max_ratio']['flex-cuda'] or 0.0
        w = worst.setdefault(key, [0, 'PASS', 0.0, 0.0, ''])
        w[0] += row['instances']
        if cell != 'PASS': w[1], w[4] = cell, row['reasons'].get('flex-cuda', '')
        w[2], w[3] = max(w[2], ratio), max(w[3], row['baseline_ratio'] or 0.0)
with open(sys.argv[1], 'w') as out:
    for (case, dtype), (n, cell, ratio, base, reason) in sorted(worst.items()):
        out.write(f"{case:32s} {dtype:9s} {n:5d} {cell:8s} flex-cuda {ratio:.3f} baseline {base:.3f} {reason[:160]}\n")
PY
         ;;
    anchor-noflex) timeout 240 python3 plugins/flex_cuda/bench/torch_anchor.py $B/plugins/libattn_flex_cuda.so --no-flex --json "$OUT/anchor.json" > "$OUT/anchor.txt" 2>&1 ;;
  esac
  echo "== $step rc=$? $(( $(date +%s) - start ))s"
done
[ -f "$OUT/ncu.txt" ] && { echo "== ncu"; grep -E "fc_attn_|Duration|Throughput|Achieved Occupancy|Registers Per|Warp Cycles Per Issued|Issue Slots Busy|Executed Ipc A" "$OUT/ncu.txt" | head -60; }
[ -f "$OUT/test.txt" ] && { echo "== test"; grep -E "FAIL|PASSED|SKIPPED|ERROR|out-of-range" "$OUT/test.txt" | head; }
[ -f "$OUT/matrix.txt" ] && { echo "== matrix"; head -n 22 "$OUT/matrix.txt" | cut -d'|' -f1-6; }
for f in attnbench loops merge_ab variants blocks anchor probe; do [ -f "$OUT/$f.txt" ] && { echo "== $f"; grep -v '^{' "$OUT/$f.txt" | tail -n 20; }; done
[ -f "$OUT/sanitize.txt" ] && { echo "== sanitize"; grep -E "ERROR SUMMARY|Invalid|error" "$OUT/sanitize.txt" | head -20; }
exit 0
