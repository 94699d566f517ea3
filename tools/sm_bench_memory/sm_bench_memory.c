/* Peak memory of synaptic-manual on the two problems issue 3 names, for docs/PERF.md:
 *
 *   sm_bench_memory decode  [block_bytes]   B=1 Hq=8 Hkv=2 Tq=1 Tk=131072 D=128, float32
 *   sm_bench_memory prefill [block_bytes] [heads]   B=1 H=heads(1) T=32768 D=64, causal, float32
 *
 * The inputs (Q, K, V, O) are allocated and touched first and reported separately; then the
 * kernel's own peak is the growth of the resident set's high-water mark over one run.  The
 * high-water mark is reset through /proc/self/clear_refs (Linux >= 4.0) so that it starts at
 * the inputs; getrusage's ru_maxrss (which cannot be reset) is printed as well. */
#include <attn/host/attn_host.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "peak_memory.h"

static long maxrss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int64_t shapes[4][4], strides[4][4];

static void view(DLTensor *t, float *data, int slot, int64_t n0, int64_t n1, int64_t n2, int64_t n3) {
    int64_t shape[4] = {n0, n1, n2, n3};
    int64_t stride = 1;
    for (int d = 3; d >= 0; --d) {
        shapes[slot][d] = shape[d];
        strides[slot][d] = stride;
        stride *= shape[d];
    }
    memset(t, 0, sizeof *t);
    t->data = data;
    t->device.device_type = kDLCPU;
    t->ndim = 4;
    t->dtype.code = kDLFloat;
    t->dtype.bits = 32;
    t->dtype.lanes = 1;
    t->shape = shapes[slot];
    t->strides = strides[slot];
}

/* Uniform in [-1, 1): a fixed LCG, so every run sees the same inputs and every page is touched. */
static float *random_floats(size_t count, uint64_t seed) {
    float *x = malloc(sizeof(float) * (count ? count : 1));
    if (!x) return NULL;
    for (size_t n = 0; n < count; ++n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[n] = (float)((seed >> 40) * (1.0 / 8388608.0)) - 1.0f;
    }
    return x;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "decode") != 0 && strcmp(argv[1], "prefill") != 0)) {
        fprintf(stderr, "usage: %s decode|prefill [block_bytes] [heads (prefill)]\n", argv[0]);
        return 2;
    }
    int decode = strcmp(argv[1], "decode") == 0;
    int64_t b = 1, hq = 8, hkv = 2, tq = 1, tk = 131072, d = 128;
    if (!decode) {
        hq = hkv = argc > 3 ? atoll(argv[3]) : 1;
        tq = tk = 32768;
        d = 64;
    }
    attn_option option = {"block_bytes", argc > 2 ? argv[2] : "64M"};
    attn_backend *backend = NULL;
    attn_error err;
    if (attn_backend_open("synaptic-manual", SM_PLUGIN_PATH, &option, 1, &backend, &err) != ATTN_OK) {
        fprintf(stderr, "cannot open synaptic-manual: %s\n", err.message);
        return 1;
    }

    size_t nq = (size_t)(b * hq * tq * d), nk = (size_t)(b * hkv * tk * d);
    float *q = random_floats(nq, 1), *k = random_floats(nk, 2), *v = random_floats(nk, 3);
    float *o = random_floats(nq, 4); /* touched like the inputs: it is the caller's memory */
    if (!q || !k || !v || !o) {
        fprintf(stderr, "out of memory for the inputs\n");
        return 1;
    }
    attn_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    view(&p.q, q, 0, b, hq, tq, d);
    view(&p.k, k, 1, b, hkv, tk, d);
    view(&p.v, v, 2, b, hkv, tk, d);
    view(&p.o, o, 3, b, hq, tq, d);
    p.causal = 1;
    p.window_left = p.window_right = -1;

    double io_mib = (double)(2 * nq + 2 * nk) * 4.0 / 1048576.0;
    double full_mib = (double)b * (double)hq * (double)tq * (double)tk * 4.0 / 1048576.0;
    int reset = reset_peak();
    long rss0 = status_kib("VmRSS:"), hwm0 = status_kib("VmHWM:"), maxrss0 = maxrss_kib();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    attn_status st = attn_backend_run(backend, &p, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long hwm1 = status_kib("VmHWM:"), maxrss1 = maxrss_kib();
    if (st != ATTN_OK) {
        fprintf(stderr, "run: %s\n", err.message);
        return 1;
    }
    double checksum = 0.0;
    for (size_t n = 0; n < nq; ++n) checksum += o[n];

    printf("case            %s: B=%lld Hq=%lld Hkv=%lld Tq=%lld Tk=%lld D=%lld float32%s, block_bytes %s\n",
           argv[1], (long long)b, (long long)hq, (long long)hkv, (long long)tq, (long long)tk, (long long)d,
           decode ? "" : " causal", option.value);
    printf("inputs+outputs  %.1f MiB (Q, K, V, O)\n", io_mib);
    printf("B.H.Tq.Tk.4     %.1f MiB (the full score matrix)\n", full_mib);
    printf("VmRSS before    %.1f MiB; VmHWM before %.1f MiB (peak reset: %s)\n", rss0 / 1024.0, hwm0 / 1024.0,
           reset == 0 ? "yes" : "no");
    printf("VmHWM after     %.1f MiB: the run's peak growth %.1f MiB\n", hwm1 / 1024.0, (hwm1 - rss0) / 1024.0);
    printf("ru_maxrss       %.1f -> %.1f MiB\n", maxrss0 / 1024.0, maxrss1 / 1024.0);
    printf("time            %.2f s; checksum of O %.6g\n",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), checksum);
    attn_backend_close(backend);
    free(q);
    free(k);
    free(v);
    free(o);
    return isfinite(checksum) ? 0 : 1;
}
