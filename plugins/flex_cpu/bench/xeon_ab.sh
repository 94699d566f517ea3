#!/bin/bash
# Same-process A/B of two flex-cpu plugin builds on the GPU machine's Xeon (AMX), bfloat16
# prefill (bench/bf16_prefill.yaml), pinned to the first N cores:
#
#   OUT=/some/dir plugins/flex_cpu/bench/xeon_ab.sh A.so B.so [THREADS [ROUNDS]]   (default 2, 5)
#
# with a build staged into .device as for xeon_amx.sh (its libattn, attnbench and deplibs are
# used; A.so and B.so are two plugins, e.g. .device/plugins/libattn_flex_cpu.so and a copy of
# another branch's build of it).  Each round runs attnbench once with backends
#   A and B (amx auto, each build's defaults), A-e256 and B-e64 (amx auto, edge_tile given),
# the order of A and B swapped every round (3 warm-ups, median of 10 each); the table gives
# the median over rounds of each backend and of B/A per round.  Under 4 minutes at 2 threads.
# NULL=plugin.so (optional): a build with -DFC_NULL_PRODUCTS (fcpu_amx.c), timed with
# amx: emulate in the same rounds as backend "null": everything but the AMX products
# (softmax, packing, tile walk, Q and O), i.e. what is left to cut once the products are fast.
set -u
[ $# -ge 2 ] || { sed -n 2,12p "$0"; exit 2; }
A=$(realpath "$1") BP=$(realpath "$2") N=${3:-2} R=${4:-5} NULL=${NULL:-}
D=${ATTN_DEVICE_DIR:-.device}
[ -d "$D/bin" ] || { echo "xeon_ab: no staged build in '$D'" >&2; exit 2; }
D=$(cd "$D" && pwd)
OUT=${OUT:-/tmp/flex_cpu_ab}
mkdir -p "$OUT"
for lib in "$D"/core/libattn.so.*.*.*; do [ -f "$lib" ] && ln -sf "$(basename "$lib")" "$D/core/libattn.so.0"; done
export LD_LIBRARY_PATH=$D/deplibs:$D/core:${LD_LIBRARY_PATH:-}
cat > "$OUT/ab.yaml" <<EOF
backends:
  - name: sdpa-ref
    plugin: $D/plugins/libattn_sdpa_ref.so
  - name: A
    plugin: $A
    options: {amx: auto}
  - name: B
    plugin: $BP
    options: {amx: auto}
  - name: A-e256
    plugin: $A
    options: {amx: auto, edge_tile: 256}
  - name: B-e64
    plugin: $BP
    options: {amx: auto, edge_tile: 64}
EOF
null_backend=
if [ -n "$NULL" ]; then
    printf '  - name: null\n    plugin: %s\n    options: {amx: emulate}\n' "$(realpath "$NULL")" >> "$OUT/ab.yaml"
    null_backend="--backend null"
fi
{ date -u; grep -m1 'model name' /proc/cpuinfo; echo "load $(cut -d' ' -f1-3 /proc/loadavg)"; } | tee "$OUT/ab_machine.txt"
rm -f "$OUT/ab_rounds.json"
for r in $(seq "$R"); do
    if [ $((r % 2)) = 1 ]; then order="--backend A --backend B"; else order="--backend B --backend A"; fi
    timeout 60 env OMP_NUM_THREADS="$N" taskset -c "0-$((N - 1))" "$D/bin/attnbench" --config "$OUT/ab.yaml" \
        $order --backend A-e256 --backend B-e64 $null_backend --shapes plugins/flex_cpu/bench/bf16_prefill.yaml \
        --warmup 3 --repeats 10 --format json >> "$OUT/ab_rounds.json" 2> "$OUT/ab_round$r.err"
    echo "round $r rc=$? load $(cut -d' ' -f1 /proc/loadavg)"
done
python3 - "$OUT/ab_rounds.json" "$N" <<'EOF' | tee "$OUT/ab_table.md"
import json, statistics, sys
from collections import defaultdict
text, dec, i, ms = open(sys.argv[1]).read(), json.JSONDecoder(), 0, defaultdict(list)
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    obj, i = dec.raw_decode(text, i)
    for r in obj["results"]:
        if r.get("status") == "ok":
            ms[(r["case"], r["backend"])].append(r["ms_median"])
med = lambda v: statistics.median(v) if v else float("nan")
print(f"\n{sys.argv[2]} threads, amx auto, ms (median over rounds)\n")
print("| case | A | B | B/A (per round) | A edge 256 | B edge 64 | null products (NULL's code) |")
print("|---|---|---|---|---|---|---|")
for c in dict.fromkeys(c for c, _ in ms):
    a, b = ms[(c, "A")], ms[(c, "B")]
    rounds = " ".join(f"{y / x:.2f}" for x, y in zip(a, b))
    print(f"| {c} | {med(a):.2f} | {med(b):.2f} | {med(b) / med(a):.3f} ({rounds}) | {med(ms[(c, 'A-e256')]):.2f} | {med(ms[(c, 'B-e64')]):.2f} | {med(ms[(c, 'null')]):.2f} |")
EOF
