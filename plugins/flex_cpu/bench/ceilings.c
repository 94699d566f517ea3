/* The machine's ceilings that flex-cpu's numbers are fractions of (docs/PERF.md):
 *   sgemm   oneDNN's dnnl_sgemm on 2048^3 float32, GFLOP/s (2 * 2048^3 per product)
 *   bf16    a oneDNN bfloat16 matmul primitive on 2048^3 (float32 output), GFLOP/s: the
 *           bfloat16 ceiling (oneDNN 2.6 has no bfloat16 gemm function)
 *   memcpy  a 512 MiB copy split over the threads, GB/s counting bytes read plus bytes
 *           written (STREAM's convention; half of it is the bytes copied per second)
 *   read    a 512 MiB read-only pass, GB/s (what a K/V stream could reach at best)
 * Each is the median of `repeats` runs after one warm-up, on OMP_NUM_THREADS threads (or
 * --threads N), the same thread count attnbench is given.
 *
 * usage: flex_cpu_ceilings [--threads N] [--repeats N] [--mib N] */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Deterministic non-zero data (zeros can run faster than real data). */
static void fill(float *x, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
}

static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* A 2048^3 bfloat16 matmul primitive, created once, run as a product. */
typedef struct bf16_matmul {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
} bf16_matmul;

static int bf16_matmul_init(bf16_matmul *m, dnnl_dim_t n, void *a, void *b, void *c) {
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_dims_t dims = {n, n};
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd;
    if (dnnl_engine_create(&m->engine, dnnl_cpu, 0) || dnnl_stream_create(&m->stream, m->engine, dnnl_stream_default_flags) ||
        dnnl_memory_desc_init_by_tag(&ad, 2, dims, dnnl_bf16, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&bd, 2, dims, dnnl_bf16, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&cd, 2, dims, dnnl_f32, dnnl_ab) || dnnl_matmul_desc_init(&desc, &ad, &bd, NULL, &cd) ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, m->engine, NULL))
        return 1;
    int rc = dnnl_primitive_create(&m->prim, pd) || dnnl_memory_create(&m->a, &ad, m->engine, a) ||
             dnnl_memory_create(&m->b, &bd, m->engine, b) || dnnl_memory_create(&m->c, &cd, m->engine, c);
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

static int bf16_matmul_run(bf16_matmul *m) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, m->a}, {DNNL_ARG_WEIGHTS, m->b}, {DNNL_ARG_DST, m->c}};
    return dnnl_primitive_execute(m->prim, m->stream, 3, args) != dnnl_success || dnnl_stream_wait(m->stream) != dnnl_success;
}

static void bf16_matmul_free(bf16_matmul *m) {
    if (m->a) dnnl_memory_destroy(m->a);
    if (m->b) dnnl_memory_destroy(m->b);
    if (m->c) dnnl_memory_destroy(m->c);
    if (m->prim) dnnl_primitive_destroy(m->prim);
    if (m->stream) dnnl_stream_destroy(m->stream);
    if (m->engine) dnnl_engine_destroy(m->engine);
}

static int gemm_gflops(int repeats, int bf16, double *out) {
    const dnnl_dim_t n = 2048;
    size_t count = (size_t)(n * n);
    float *a = malloc(count * 4), *b = malloc(count * 4), *c = malloc(count * 4);
    uint16_t *ah = malloc(count * 2), *bh = malloc(count * 2);
    double *t = malloc(sizeof(double) * (size_t)repeats);
    bf16_matmul mm;
    memset(&mm, 0, sizeof mm);
    int rc = !a || !b || !c || !ah || !bh || !t;
    if (!rc) {
        fill(a, count, 1);
        fill(b, count, 2);
        for (size_t i = 0; i < count; ++i) ah[i] = to_bf16(a[i]), bh[i] = to_bf16(b[i]);
        if (bf16) rc = bf16_matmul_init(&mm, n, ah, bh, c);
    }
    for (int r = -1; r < repeats && !rc; ++r) {
        double t0 = now_s();
        rc = bf16 ? bf16_matmul_run(&mm) : dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) != dnnl_success;
        double dt = now_s() - t0;
        if (r >= 0) t[r] = 2.0 * (double)n * (double)n * (double)n / dt * 1e-9;
    }
    *out = rc ? 0.0 : median(t, repeats);
    bf16_matmul_free(&mm);
    free(a), free(b), free(c), free(ah), free(bh), free(t);
    return rc;
}

/* Copies (copy = 1) or reads the buffer once per repeat, split evenly over the threads. */
static int stream_gbps(int repeats, size_t bytes, int threads, int copy, double *out) {
    char *src = aligned_alloc(4096, bytes), *dst = copy ? aligned_alloc(4096, bytes) : NULL;
    double *t = malloc(sizeof(double) * (size_t)repeats);
    if (!src || (copy && !dst) || !t) return 1;
    /* First touch by the threads that will stream it, as the kernels' K/V would be. */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < bytes; i += 4096) {
        memset(src + i, (int)(i >> 12) | 1, 4096);
        if (copy) memset(dst + i, 0, 4096);
    }
    uint64_t sink = 0;
    for (int r = -1; r < repeats; ++r) {
        double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(^ : sink)
        {
            int nt = omp_get_num_threads(), me = omp_get_thread_num();
            size_t chunk = bytes / (size_t)nt / 64 * 64, lo = chunk * (size_t)me;
            size_t hi = me == nt - 1 ? bytes : lo + chunk;
            if (copy) {
                memcpy(dst + lo, src + lo, hi - lo);
            } else {
                const uint64_t *u = (const uint64_t *)(src + lo);
                uint64_t x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0, x5 = 0, x6 = 0, x7 = 0;
                for (size_t i = 0; i < (hi - lo) / 8; i += 8) {
                    x0 ^= u[i], x1 ^= u[i + 1], x2 ^= u[i + 2], x3 ^= u[i + 3];
                    x4 ^= u[i + 4], x5 ^= u[i + 5], x6 ^= u[i + 6], x7 ^= u[i + 7];
                }
                sink ^= x0 ^ x1 ^ x2 ^ x3 ^ x4 ^ x5 ^ x6 ^ x7;
            }
        }
        double dt = now_s() - t0;
        if (r >= 0) t[r] = (double)bytes * (copy ? 2.0 : 1.0) / dt * 1e-9;
    }
    *out = median(t, repeats);
    if (sink == 42) fprintf(stderr, " "); /* keeps the read loop */
    free(src), free(dst), free(t);
    return 0;
}

int main(int argc, char **argv) {
    int threads = omp_get_max_threads(), repeats = 5;
    long mib = 512;
    for (int n = 1; n < argc; ++n) {
        if (!strcmp(argv[n], "--threads") && n + 1 < argc)
            threads = atoi(argv[++n]);
        else if (!strcmp(argv[n], "--repeats") && n + 1 < argc)
            repeats = atoi(argv[++n]);
        else if (!strcmp(argv[n], "--mib") && n + 1 < argc)
            mib = atol(argv[++n]);
        else {
            fprintf(stderr, "usage: flex_cpu_ceilings [--threads N] [--repeats N] [--mib N]\n");
            return 2;
        }
    }
    if (threads < 1 || repeats < 1 || mib < 16) {
        fprintf(stderr, "flex_cpu_ceilings: --threads and --repeats must be >= 1, --mib >= 16\n");
        return 2;
    }
    /* oneDNN's gemm threads come from OpenMP's default team size. */
    omp_set_num_threads(threads);
    double sgemm, bgemm, copy, read;
    size_t bytes = (size_t)mib << 20;
    if (gemm_gflops(repeats, 0, &sgemm) || gemm_gflops(repeats, 1, &bgemm) ||
        stream_gbps(repeats, bytes, threads, 1, &copy) || stream_gbps(repeats, bytes, threads, 0, &read)) {
        fprintf(stderr, "flex_cpu_ceilings: out of memory or a oneDNN call failed\n");
        return 1;
    }
    printf("threads %d\n", threads);
    printf("sgemm_2048_gflops %.1f\n", sgemm);
    printf("bf16gemm_2048_gflops %.1f\n", bgemm);
    printf("memcpy_%ldmib_gbps_read_plus_write %.2f\n", mib, copy);
    printf("read_%ldmib_gbps %.2f\n", mib, read);
    return 0;
}
