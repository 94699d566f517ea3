#!/bin/bash
# flex-cpu next to PyTorch's CPU SDPA on the GPU machine's Xeon (issue 7), on 2 and 16
# threads pinned to the first N cores.  Run from the repository root with the build staged
# into .device (../shared/device/stage BUILD .device: it carries libdnnl among the deplibs):
#
#   OUT=/some/dir plugins/flex_cpu/bench/xeon_side_by_side.sh [THREADS...]   (default: 2 16)
#
# For each thread count, in this order so that each timing has its ceilings next to it:
#   1. flex_cpu_ceilings (oneDNN sgemm and bf16 matmul 2048^3, 512 MiB memcpy and read),
#   2. attnbench --backend flex-cpu on plugins/flex_cpu/bench/shapes.yaml (OMP_NUM_THREADS=N),
#   3. torch SDPA on the same shapes and dtypes (torch.set_num_threads(N)), the same
#      convention: 3 warm-up runs, then the median of 10 timed runs,
# then prints one markdown table per thread count (both times, flex-cpu speed / torch
# speed).  Every step runs under its own timeout, all of them together well under 6
# minutes; logs and JSON go to $OUT.  A step that fails or times out leaves its log and a
# '-' in the table; the others still run.
set -u
B=${ATTN_DEVICE_DIR:-.device}
[ -d "$B/bin" ] || { echo "xeon_side_by_side: no staged build in '$B' (../shared/device/stage BUILD .device)" >&2; exit 2; }
B=$(cd "$B" && pwd)
OUT=${OUT:-/tmp/flex_cpu_xeon}
SHAPES=plugins/flex_cpu/bench/shapes.yaml
PY=plugins/flex_cpu/bench/torch_sdpa_cpu.py
mkdir -p "$OUT"
# libattn is a shared library whose soname link the stage script (ELF files only) leaves out
for lib in "$B"/core/libattn.so.*.*.*; do [ -f "$lib" ] && ln -sf "$(basename "$lib")" "$B/core/libattn.so.0"; done
export LD_LIBRARY_PATH=$B/deplibs:$B/core:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
# libdnnl travels in deplibs, but it and the plugin also need the OpenMP runtime (libgomp.so.1,
# from the machine's GCC): say so up front rather than as a failed step.
missing=$(ldd "$B/bin/flex_cpu_ceilings" "$B/plugins/libattn_flex_cpu.so" 2>&1 | grep 'not found' | sort -u)
[ -z "$missing" ] || echo "xeon_side_by_side: libraries not found (copy them into $B/deplibs): $missing"

{
    date -u '+%Y-%m-%d %H:%M UTC'
    grep -m1 'model name' /proc/cpuinfo
    echo "nproc $(nproc)"
    lscpu 2>/dev/null | grep -E '^(Thread|Core|Socket|NUMA node\(s\)|L2|L3|Flags)' | cut -c1-300
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt" | head -8

# step FILE LIMIT_S COMMAND...: runs it with stdout in $OUT/FILE and stderr in
# $OUT/FILE.err, and says how it went.
step() {
    local file=$1 limit=$2 start=$SECONDS
    shift 2
    timeout "$limit" "$@" > "$OUT/$file" 2> "$OUT/$file.err"
    echo "== $file rc=$? $((SECONDS - start))s (limit ${limit}s, load $(cut -d' ' -f1 /proc/loadavg))"
}

threads=${*:-2 16}
for n in $threads; do
    cores=0-$((n - 1))
    # 2 threads is the slow case: prefill takes ~0.1-0.2 s a run on each side, 13 runs a shape
    if [ "$n" -le 4 ]; then t_ceil=45 t_flex=75 t_torch=90; else t_ceil=30 t_flex=40 t_torch=50; fi
    step "ceilings_$n.txt" $t_ceil taskset -c "$cores" "$B/bin/flex_cpu_ceilings" --threads "$n" --repeats 5
    step "flex_$n.json" $t_flex env OMP_NUM_THREADS="$n" taskset -c "$cores" "$B/bin/attnbench" --backend flex-cpu \
        --shapes "$SHAPES" --warmup 3 --repeats 10 --format json
    step "torch_$n.txt" $t_torch env OMP_NUM_THREADS="$n" taskset -c "$cores" python3 "$PY" time --shapes "$SHAPES" \
        --threads "$n" --warmup 3 --repeats 10 --json "$OUT/torch_$n.json"
done

for n in $threads; do
    python3 "$PY" table --threads "$n" --flex "$OUT/flex_$n.json" --torch "$OUT/torch_$n.json" \
        --ceilings "$OUT/ceilings_$n.txt" | tee "$OUT/table_$n.md"
done
exit 0
