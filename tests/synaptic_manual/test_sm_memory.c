/* Bounded memory: the plugin never allocates B.H.Tq.Tk scores.  The peak resident set is
 * reset to the current one (/proc/self/clear_refs, Linux >= 4.0) after the inputs are
 * allocated and touched, so the high-water mark after one run is the run's own peak.
 * Where the kernel refuses the reset the memory assertions are skipped, not failed.
 *
 *   decode : Hq 8 / Hkv 2, Tq 1, Tk 131072: also checked against sdpa-ref's eager baseline.
 *   prefill: H 2, T 4096, block_bytes 256K: the full matrix would be 128 MiB. */
#include <stdio.h>

#include "sm_test.h"
#include "peak_memory.h"

/* Runs the problem and returns the growth of the peak resident set in bytes, or -1 when the
 * peak could not be reset.  Outputs are touched first: they are the caller's memory. */
static long run_peak_growth(const small_problem *s, const char *block_bytes) {
    memset(s->o, 0, sizeof(float) * (size_t)(s->b * s->hq * s->tq * s->dv));
    memset(s->lse, 0, sizeof(float) * (size_t)(s->b * s->hq * s->tq));
    attn_option option = {"block_bytes", block_bytes};
    attn_backend *backend = sm_open(&option, block_bytes ? 1 : 0);
    int reset = reset_peak();
    long before = status_kib("VmRSS:");
    sm_run(backend, &s->p);
    long after = status_kib("VmHWM:");
    attn_backend_close(backend);
    if (reset != 0 || before < 0 || after < 0) return -1;
    return (after - before) * 1024;
}

static void long_decode(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 8, 2, 1, 131072, 16, 16);
    sm_fill_problem(&s, 21);
    long growth = run_peak_growth(&s, NULL);
    long full = 1L * 8 * 1 * 131072 * 4; /* B.H.Tq.Tk.4 = 4 MiB */
    /* The scratch is one row of scores (512 KiB): allow the allocator and the library some. */
    print_message("decode Tk=131072: peak growth %ld KiB, full score matrix %ld KiB\n", growth / 1024, full / 1024);
    if (growth >= 0) assert_true(growth < full / 2);

    /* The same problem on the reference's eager baseline: the same numbers. */
    float *o = malloc(sizeof(float) * 8 * 16), *lse = malloc(sizeof(float) * 8);
    memcpy(o, s.o, sizeof(float) * 8 * 16);
    memcpy(lse, s.lse, sizeof(float) * 8);
    attn_option mode = {"mode", "baseline"};
    attn_backend *reference = NULL;
    attn_error err;
    if (attn_backend_open("sdpa-ref", SM_SDPA_REF_PATH, &mode, 1, &reference, &err) != ATTN_OK)
        fail_msg("cannot open sdpa-ref: %s", err.message);
    sm_run(reference, &s.p);
    attn_backend_close(reference);
    for (int n = 0; n < 8 * 16; ++n) assert_close(o[n], s.o[n], 1e-6);
    for (int n = 0; n < 8; ++n) assert_close(lse[n], s.lse[n], 1e-6);
    free(o);
    free(lse);
    small_free(&s);
}

static void prefill_in_budget(void **state) {
    (void)state;
    small_problem s;
    small_init(&s, 1, 2, 2, 4096, 4096, 16, 16);
    sm_fill_problem(&s, 22);
    s.p.scale = 0.0;
    long growth = run_peak_growth(&s, "256K");
    long full = 1L * 2 * 4096 * 4096 * 4; /* 128 MiB */
    print_message("prefill T=4096: peak growth %ld KiB, full score matrix %ld KiB\n", growth / 1024, full / 1024);
    if (growth >= 0) assert_true(growth < 16L << 20);
    for (int64_t n = 0; n < s.b * s.hq * s.tq * s.dv; ++n) assert_true(isfinite(s.o[n]));
    small_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_decode),
        cmocka_unit_test(prefill_in_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
