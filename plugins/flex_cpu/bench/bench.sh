#!/bin/sh
# Usage: plugins/flex_cpu/bench/bench.sh BUILD_DIR [THREADS] [ROUNDS]
#
# flex-cpu's numbers for docs/PERF.md: the machine's ceilings (flex_cpu_ceilings: oneDNN
# sgemm 2048^3, a bfloat16 matmul 2048^3, a 512 MiB memcpy and read) and attnbench on the
# issue's shapes (bench/shapes.yaml), measured in the same run on THREADS threads (default 2).
# The two alternate ROUNDS times (default 3) so that every round has its own ceilings next
# to its own timings; each round's fractions use that round's ceilings, and the summary is
# the median over rounds (the cores are shared: a round that coincided with other work shows
# up as an outlier, not as the answer).
set -eu
build=${1:?usage: bench.sh BUILD_DIR [THREADS] [ROUNDS]}
threads=${2:-2}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=$threads
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "flex-cpu bench: $threads threads, $rounds rounds, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores online"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ "$r" -le "$rounds" ]; do
    "$build/bin/flex_cpu_ceilings" --threads "$threads" --repeats 5 >"$tmp/ceil.$r"
    "$build/bin/attnbench" --backend flex-cpu --shapes "$here/shapes.yaml" --warmup 3 --repeats 10 \
        >"$tmp/bench.$r"
    echo "--- round $r (load $(cut -d' ' -f1 /proc/loadavg))"
    cat "$tmp/ceil.$r"
    grep '^flex-cpu' "$tmp/bench.$r"
    # One line of fractions per round.
    awk -v round="$r" '
        FNR == NR { ceil[$1] = $2; next }
        /^flex-cpu/ {
            ms = $(NF - 4); tf = $(NF - 1); gb = $NF
            if ($0 ~ /prefill f32 bidir/) { f32_ms = ms; f32_gf = tf * 1000 }
            if ($0 ~ /prefill f32 causal/) f32c_ms = ms
            if ($0 ~ /prefill bf16 bidir/) bf_gf = tf * 1000
            if ($0 ~ /decode f32/) dec_gb = gb
        }
        END {
            sg = ceil["sgemm_2048_gflops"]; bg = ceil["bf16gemm_2048_gflops"]
            mc = ceil["memcpy_512mib_gbps_read_plus_write"]; rd = ceil["read_512mib_gbps"]
            printf "fractions %d: f32_prefill/sgemm %.3f causal/bidir %.3f bf16/f32 %.3f bf16_prefill/bf16_ceiling %.3f decode/memcpy %.3f decode/read %.3f\n",
                   round, f32_gf / sg, f32c_ms / f32_ms, bf_gf / f32_gf, bf_gf / bg, dec_gb / mc, dec_gb / rd
        }' "$tmp/ceil.$r" "$tmp/bench.$r" | tee -a "$tmp/fractions"
    r=$((r + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Median of each fraction over the rounds.
awk '
    { for (f = 3; f <= NF; f += 2) { name[f] = $f; v[f, NR] = $(f + 1) } n = NR; nf = NF }
    END {
        printf "median over %d rounds:", n
        for (f = 3; f <= nf; f += 2) {
            for (i = 1; i <= n; ++i) a[i] = v[f, i]
            for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            printf " %s %.3f", name[f], m
        }
        printf "\n"
    }' "$tmp/fractions"
