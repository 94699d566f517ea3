/* flex-cuda against the float64 reference, through every kernel path:
 *   - without a GPU: opening the plugin gives ATTN_E_UNAVAILABLE with the reason, and every
 *     test prints "skipped: <reason>" and skips;
 *   - with one: problems chosen to cross the paths' edges (decode with ragged caches and a
 *     poisoned cache tail, chunk decode with documents and dropout, prefill with windows,
 *     softcap, ALiBi, prefix-LM, synaptic weights, head dims 80 / 96 / 256, empty rows),
 *     each in float32, float16 and bfloat16, each with the automatic plan, with forced key
 *     splits (the LSE merge), with the mma.sync main loop instead of wgmma, with the wgmma
 *     loop's 192-row blocks and with tensor cores off (the exact kernel on 16-bit inputs), compared under SPEC.md's rule;
 *   - the two split merges (last block of each group, default; the fc_combine kernel,
 *     split_merge=kernel) on split decode shapes: each against the reference, and the two
 *     bit for bit against each other (they run the same merge function on the same partials);
 *   - a length out of range on the device comes back as ATTN_E_INVALID instead of a fault;
 *   - a K/V view no tensor map describes takes the mma.sync loop and the log says why. */
#include "attn_case.h"
#include <attn/plugin/attn_dtype.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"
#include "run_with_log.h"

static char unavailable[ATTN_ERROR_CAP];

/* The build tree's plugins, unless the environment says where they were moved to (the GPU
 * machine runs a staged copy of the build). */
static const char *plugin_path(const char *variable, const char *built) {
    const char *path = getenv(variable);
    return path && path[0] ? path : built;
}
#define FLEX_CUDA plugin_path("ATTN_TEST_FLEX_CUDA", FLEX_CUDA_PATH)
#define SDPA_REF plugin_path("ATTN_TEST_SDPA_REF", SDPA_REF_PATH)

static int open_flex(const attn_option *options, uint32_t count, attn_backend **out) {
    attn_error err = {0};
    attn_status st = attn_backend_open("flex-cuda", FLEX_CUDA, options, count, out, &err);
    if (st == ATTN_E_UNAVAILABLE) {
        snprintf(unavailable, sizeof unavailable, "%s", err.message);
        return 0;
    }
    if (st != ATTN_OK) print_error("opening flex-cuda: %s\n", err.message);
    assert_int_equal(st, ATTN_OK);
    return 1;
}

#define SKIP_WITHOUT_GPU()                              \
    do {                                                \
        if (unavailable[0]) {                           \
            printf("skipped: %s\n", unavailable);       \
            skip();                                     \
        }                                               \
    } while (0)

static int group_setup(void **state) {
    (void)state;
    attn_backend *b = NULL;
    if (open_flex(NULL, 0, &b)) attn_backend_close(b);
    return 0;
}

/* Without a device the reason must say so: the matrix prints it under SKIP. */
static void test_open(void **state) {
    (void)state;
    if (unavailable[0]) {
        assert_contains(unavailable, "CUDA");
        printf("skipped: %s\n", unavailable);
        skip();
    }
}

static attn_case make_case(int64_t b, int64_t hq, int64_t hkv, int64_t tq, int64_t tk, int64_t d) {
    attn_case c;
    attn_case_defaults(&c);
    c.batch = b;
    c.q_heads = hq;
    c.kv_heads = hkv;
    c.q_len = tq;
    c.kv_len = tk;
    c.head_dim = c.value_dim = d;
    c.want_lse = 1;
    return c;
}

/* Decode over ragged caches in a longer cache view (BTHD): 300 keys, 17 (under forced splits
 * only the first split sees one), and none (O = 0, LSE = -inf). */
static attn_case ragged_decode_case(void) {
    attn_case c = make_case(3, 8, 2, 1, 300, 64);
    c.kv_cache_len = 320;
    c.layout = ATTN_LAYOUT_BTHD;
    c.has_lengths = 1;
    c.q_lens[0] = c.q_lens[1] = c.q_lens[2] = 1;
    c.kv_lens[0] = 300;
    c.kv_lens[1] = 17;
    c.kv_lens[2] = 0;
    return c;
}

/* The cases, each run in every dtype. */
static int build_cases(attn_case *cases) {
    int n = 0;
    attn_case c = ragged_decode_case();
    cases[n++] = c;
    c = make_case(2, 4, 2, 24, 150, 64); /* chunk decode, documents, dropout */
    c.doc_count = 3;
    c.doc_sizes[0] = 60;
    c.doc_sizes[1] = 70;
    c.doc_sizes[2] = 20;
    c.dropout_p = 0.2f;
    cases[n++] = c;
    c = make_case(1, 2, 1, 130, 130, 96); /* prefill, window, softcap */
    c.window_left = 40;
    c.modifier = ATTN_MOD_SOFTCAP;
    c.softcap = 5.0f;
    c.input_scale = 3.0f;
    cases[n++] = c;
    c = make_case(1, 2, 2, 70, 90, 256); /* head dim 256, ALiBi, bidirectional */
    c.causal = 0;
    c.modifier = ATTN_MOD_ALIBI;
    cases[n++] = c;
    c = make_case(2, 4, 2, 40, 40, 80); /* head dim 80, prefix-LM, synaptic */
    c.has_prefix = 1;
    c.prefix_lens[0] = 12;
    c.prefix_lens[1] = 40;
    c.modifier = ATTN_MOD_SYNAPTIC;
    cases[n++] = c;
    c = make_case(2, 4, 4, 20, 20, 64); /* empty rows: windows that miss every key */
    c.causal = 0;
    c.window_left = 0;
    c.window_right = 0;
    c.has_lengths = 1;
    c.q_lens[0] = 20;
    c.kv_lens[0] = 8;
    c.q_lens[1] = 0;
    c.kv_lens[1] = 20;
    cases[n++] = c;
    c = make_case(1, 32, 4, 1, 5000, 128); /* long decode: several splits by themselves */
    cases[n++] = c;
    /* The wgmma loop's shapes (head dims 64 and 128): several 128-row blocks and 128-key
     * tiles, both pipeline stages, partial and full tiles, warpgroups that skip a tile. */
    c = make_case(2, 8, 2, 300, 700, 128); /* GQA chunk prefill, ragged, bottom-right causal */
    c.has_lengths = 1;
    c.q_lens[0] = 300;
    c.kv_lens[0] = 700;
    c.q_lens[1] = 123;
    c.kv_lens[1] = 400;
    cases[n++] = c;
    c = make_case(1, 4, 4, 520, 520, 128); /* bidirectional, sliding window, ALiBi */
    c.causal = 0;
    c.window_left = 150;
    c.window_right = 60;
    c.modifier = ATTN_MOD_ALIBI;
    cases[n++] = c;
    c = make_case(1, 2, 2, 260, 260, 64); /* causal with dropout */
    c.dropout_p = 0.1f;
    cases[n++] = c;
    /* Head dim 64 without modifiers: the 192-row blocks' shapes (test_wgmma_192_rows). */
    c = make_case(2, 8, 2, 400, 650, 64); /* GQA chunk prefill, ragged: 1600 packed rows */
    c.has_lengths = 1;
    c.q_lens[0] = 400;
    c.kv_lens[0] = 650;
    c.q_lens[1] = 210;
    c.kv_lens[1] = 333;
    cases[n++] = c;
    c = make_case(1, 3, 3, 450, 450, 64); /* bidirectional documents */
    c.causal = 0;
    c.doc_count = 3;
    c.doc_sizes[0] = 200;
    c.doc_sizes[1] = 130;
    c.doc_sizes[2] = 120;
    cases[n++] = c;
    /* Dense problems (no lengths, windows or documents): the first tile and Q are copied before
     * the set-up, row ranges take the short form.  A group of 3 packs rows that 64-row blocks
     * cannot copy as one Q box (cp.async) and 192-row blocks can (TMA). */
    c = make_case(2, 6, 2, 200, 200, 64);
    cases[n++] = c;
    c = make_case(1, 4, 4, 300, 300, 128);
    c.causal = 0;
    cases[n++] = c;
    /* Dense problems at head dim 64 for the persistent kernel (test_persistent): a last query
     * tile with 40 rows (two idle warpgroups); MQA, causal with more keys than queries. */
    c = make_case(2, 3, 3, 1000, 1000, 64);
    c.causal = 0;
    cases[n++] = c;
    c = make_case(1, 4, 1, 300, 520, 64);
    cases[n++] = c;
    return n;
}

/* Runs `inst` on `backend`, compares it with golden under the tolerance rule and hands the
 * result back in *out (the caller frees it). */
static void execute_checked(attn_backend *golden, attn_backend *baseline, attn_backend *backend, const char *variant,
                            const attn_instance *inst, attn_result *out) {
    attn_error err = {0};
    attn_exec_options reference = {0, 0, 1, 1};
    attn_result g, base;
    assert_int_equal(attn_instance_execute(golden, inst, &reference, &g, &err), ATTN_OK);
    assert_int_equal(attn_instance_execute(baseline, inst, &reference, &base, &err), ATTN_OK);
    attn_status st = attn_instance_execute(backend, inst, NULL, out, &err);
    if (st != ATTN_OK) print_error("%s / %s: %s\n", inst->c.name, variant, err.message);
    assert_int_equal(st, ATTN_OK);
    attn_tolerance tol;
    assert_int_equal(attn_tolerance_make(inst, &tol, &err), ATTN_OK);
    attn_verdict v, witness;
    attn_compare(inst, &g, &tol, out, &v);
    attn_compare(inst, &g, &tol, &base, &witness); /* the eager baseline keeps within the derived bound too */
    printf("%-8s %-60s max err %.3g (tol %.3g, err/tol %.3g; baseline %.3g)%s%s\n", variant, inst->c.name, v.max_err_o,
           v.tol_o, v.ratio, witness.ratio, v.pass ? "" : " FAIL: ", v.detail);
    assert_true(v.pass);
    assert_true(witness.pass);
    attn_tolerance_free(&tol);
    attn_result_free(&g);
    attn_result_free(&base);
}

/* Runs one instance on `backend` and compares it with golden under the tolerance rule. */
static void check_instance(attn_backend *golden, attn_backend *baseline, attn_backend *backend, const char *variant,
                           const attn_case *c) {
    attn_instance inst;
    attn_error err = {0};
    assert_int_equal(attn_instance_make(c, &inst, &err), ATTN_OK);
    attn_result out;
    execute_checked(golden, baseline, backend, variant, &inst, &out);
    attn_result_free(&out);
    attn_instance_free(&inst);
}

static void run_variant(const char *variant, const attn_option *options, uint32_t count) {
    attn_backend *flex = NULL, *golden = NULL, *baseline = NULL;
    attn_error err = {0};
    assert_true(open_flex(options, count, &flex));
    attn_option golden_mode = {"mode", "golden"}, baseline_mode = {"mode", "baseline"};
    assert_int_equal(attn_backend_open("golden", SDPA_REF, &golden_mode, 1, &golden, &err), ATTN_OK);
    assert_int_equal(attn_backend_open("baseline", SDPA_REF, &baseline_mode, 1, &baseline, &err), ATTN_OK);
    attn_case cases[24];
    int n = build_cases(cases);
    for (int k = 0; k < n; ++k)
        for (int32_t dtype = 0; dtype < ATTN_DTYPE_COUNT; ++dtype) {
            attn_case c = cases[k];
            c.dtype = dtype;
            c.data_seed = 77u + (uint64_t)(k * 3 + dtype);
            attn_case_label(&c, c.name, sizeof c.name);
            check_instance(golden, baseline, flex, variant, &c);
        }
    attn_backend_close(flex);
    attn_backend_close(golden);
    attn_backend_close(baseline);
}

static void test_auto_plan(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    run_variant("auto", NULL, 0);
}

static void test_forced_splits(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_option options[] = {{"splits", "3"}};
    run_variant("splits=3", options, 1);
}

/* The Ampere-style mma.sync loop, which the automatic plan replaces on Hopper at head dims 64
 * and 128: both loops stay tested. */
static void test_mma_main_loop(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_option options[] = {{"main_loop", "mma"}};
    run_variant("mma", options, 1);
}

/* The wgmma loop's block heights at head dim 64 without modifiers: the automatic plan takes
 * 64 rows (one warpgroup) over the short key ranges of these cases, 192 (three) and 128 (two)
 * only over longer ones; forced here on every case, so the test problems' small and ragged
 * row counts run through all three. */
static void test_wgmma_192_rows(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_option options[] = {{"block_rows", "192"}};
    run_variant("rows192", options, 1);
}

static void test_wgmma_128_rows(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_option options[] = {{"block_rows", "128"}};
    run_variant("rows128", options, 1);
}

/* The persistent kernel on every case it runs (the three dense cases at head dim 64 without
 * a modifier; one split, which the plan would otherwise give these small problems), on three
 * blocks, so that each walks many items and both Q buffers in turn. */
static void test_persistent(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_option options[] = {{"block_rows", "192"}, {"persistent", "3"}, {"splits", "1"}};
    run_variant("persist3", options, 3);
}

/* Runs `p` on `backend` with the debug log on (each line printed) and returns how many of the
 * log's lines contain `what` and, unless NULL, `also`. */
static int debug_lines_with(attn_backend *backend, const attn_problem *p, const char *what, const char *also) {
    setenv("ATTN_LOG", "debug", 1);
    FILE *log = run_with_log(backend, p);
    unsetenv("ATTN_LOG");
    char line[512];
    int count = 0;
    while (fgets(line, sizeof line, log)) {
        printf("log: %s", line);
        count += strstr(line, what) && (!also || strstr(line, also));
    }
    fclose(log);
    return count;
}

/* The automatic plan takes the persistent kernel for a dense prefill at head dim 64 whose
 * 192-row items fill the GPU (B4 H16 T1024 causal: 384 items; the debug log says so), and its
 * output is the grid launch's (persistent=off) to within a 16-bit rounding. */
static void test_persistent_plan_logged(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_backend *flex = NULL, *grid = NULL;
    attn_option off = {"persistent", "off"};
    assert_true(open_flex(NULL, 0, &flex));
    assert_true(open_flex(&off, 1, &grid));
    attn_error err = {0};
    DLDevice device;
    assert_int_equal(attn_backend_device(flex, &device, &err), ATTN_OK);
    enum { B = 4, H = 16, T = 1024, D = 64, HEAD = T * D, ALL = B * H * HEAD };
    static uint16_t host[3][ALL], out[2][ALL]; /* q, k, v; o of each run */
    for (int n = 0; n < ALL; ++n) {
        host[0][n] = attn_f32_to_f16((float)((n * 7) % 23) / 23.0f - 0.5f);
        host[1][n] = attn_f32_to_f16((float)((n * 5) % 19) / 19.0f - 0.5f);
        host[2][n] = attn_f32_to_f16((float)((n * 3) % 17) / 17.0f - 0.5f);
    }
    void *buf[5]; /* q, k, v, o of each run */
    for (int n = 0; n < 5; ++n) {
        assert_int_equal(attn_backend_alloc(flex, sizeof out[0], &buf[n], &err), ATTN_OK);
        if (n < 3) assert_int_equal(attn_backend_to_device(flex, buf[n], host[n], sizeof out[0], &err), ATTN_OK);
    }
    int64_t shape[4] = {B, H, T, D}, strides[4] = {(int64_t)H * HEAD, HEAD, D, 1};
    DLDataType f16 = {kDLFloat, 16, 1};
    attn_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.q = (DLTensor){buf[0], device, 4, f16, shape, strides, 0};
    p.k = (DLTensor){buf[1], device, 4, f16, shape, strides, 0};
    p.v = (DLTensor){buf[2], device, 4, f16, shape, strides, 0};
    p.o = (DLTensor){buf[3], device, 4, f16, shape, strides, 0};
    p.causal = 1;
    p.window_left = p.window_right = -1;

    const char *said = "flex-cuda: debug: dense prefill on the persistent kernel: 384 items of 192 rows";
    assert_int_equal(debug_lines_with(flex, &p, said, NULL), 1);

    p.o.data = buf[4];
    assert_int_equal(attn_backend_run(grid, &p, &err), ATTN_OK);
    assert_int_equal(attn_backend_synchronize(flex, &err), ATTN_OK);
    assert_int_equal(attn_backend_synchronize(grid, &err), ATTN_OK);
    assert_int_equal(attn_backend_to_host(flex, out[0], buf[3], sizeof out[0], &err), ATTN_OK);
    assert_int_equal(attn_backend_to_host(grid, out[1], buf[4], sizeof out[0], &err), ATTN_OK);
    float worst = 0.0f;
    for (int n = 0; n < ALL; ++n) {
        const float a = attn_f16_to_f32(out[0][n]), b = attn_f16_to_f32(out[1][n]), d = fabsf(a - b);
        assert_true(d == d); /* no NaN */
        if (d > worst) worst = d;
    }
    printf("persistent vs grid: max |diff| %g\n", worst);
    assert_true(worst <= 1.0f / 1024.0f); /* |O| < 0.5, where an f16 ulp is 2^-12 or less: a few ulps */
    for (int n = 0; n < 5; ++n) attn_backend_free(flex, buf[n]);
    attn_backend_close(flex);
    attn_backend_close(grid);
}

/* Option values are checked before any device is looked for: these run everywhere. */
static void expect_option_refused(const char *key, const char *value, const char *message) {
    attn_backend *flex = NULL;
    attn_error err = {0};
    attn_option options[] = {{key, value}};
    assert_int_equal(attn_backend_open("flex-cuda", FLEX_CUDA, options, 1, &flex, &err), ATTN_E_INVALID);
    assert_contains(err.message, message);
}

static void test_bad_main_loop(void **state) {
    (void)state;
    expect_option_refused("main_loop", "fast", "option main_loop: 'fast' is not auto, wgmma or mma");
}

static void test_bad_persistent(void **state) {
    (void)state;
    expect_option_refused("persistent", "many", "option persistent: 'many' is not on, off or a block count 1-4096");
    expect_option_refused("persistent", "0", "option persistent: '0' is not on, off or a block count 1-4096");
}

static void test_bad_block_rows(void **state) {
    (void)state;
    expect_option_refused("block_rows", "256", "option block_rows: '256' is not auto, 64, 128 or 192");
}

static void test_exact_kernel(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_option options[] = {{"tensor_cores", "off"}};
    run_variant("simt", options, 1);
}

/* Split decode shapes for the merge comparison: every one splits its keys under the forced
 * counts below, and each has rows whose splits saw nothing. */
static int build_split_cases(attn_case *cases) {
    int n = 0;
    attn_case c = ragged_decode_case();
    cases[n++] = c;
    c = make_case(2, 8, 2, 4, 900, 128); /* chunk decode, 4 x 4 packed rows; batch 1 has no query row */
    c.has_lengths = 1;
    c.q_lens[0] = 4;
    c.kv_lens[0] = 700;
    c.q_lens[1] = 0;
    c.kv_lens[1] = 900;
    cases[n++] = c;
    c = make_case(1, 2, 2, 40, 600, 64); /* the prefill kernel split: 40 rows, a window of 64 keys */
    c.window_left = 64;
    cases[n++] = c;
    c = make_case(1, 32, 4, 1, 5000, 128); /* long decode: splits by itself too */
    cases[n++] = c;
    return n;
}

/* Each split shape in every dtype (float32: the exact kernel; 16-bit: tensor cores), twice
 * with different data, on `merge_fused` and `merge_kernel`: each result meets the reference
 * and the two are the same bits.  The second round runs on counters the first one left
 * behind: a counter not reset would leave that round's O unwritten. */
static void compare_merges(const char *variant, attn_backend *merge_fused, attn_backend *merge_kernel,
                           attn_backend *golden, attn_backend *baseline) {
    attn_case cases[8];
    int n = build_split_cases(cases);
    for (int k = 0; k < n; ++k)
        for (int32_t dtype = 0; dtype < ATTN_DTYPE_COUNT; ++dtype)
            for (int round = 0; round < 2; ++round) {
                attn_case c = cases[k];
                c.dtype = dtype;
                c.data_seed = 1000u + (uint64_t)(k * 10 + dtype * 2 + round);
                attn_case_label(&c, c.name, sizeof c.name);
                attn_instance inst;
                attn_error err = {0};
                assert_int_equal(attn_instance_make(&c, &inst, &err), ATTN_OK);
                attn_result fused, kernel;
                execute_checked(golden, baseline, merge_fused, variant, &inst, &fused);
                execute_checked(golden, baseline, merge_kernel, "kernel", &inst, &kernel);
                size_t rows = (size_t)c.batch * (size_t)c.q_heads * (size_t)c.q_len;
                assert_memory_equal(fused.o, kernel.o, rows * (size_t)c.value_dim * sizeof(float));
                assert_non_null(fused.lse);
                assert_non_null(kernel.lse);
                assert_memory_equal(fused.lse, kernel.lse, rows * sizeof(float));
                attn_result_free(&fused);
                attn_result_free(&kernel);
                attn_instance_free(&inst);
            }
}

static void test_split_merge_paths(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_backend *golden = NULL, *baseline = NULL;
    attn_error err = {0};
    attn_option golden_mode = {"mode", "golden"}, baseline_mode = {"mode", "baseline"};
    assert_int_equal(attn_backend_open("golden", SDPA_REF, &golden_mode, 1, &golden, &err), ATTN_OK);
    assert_int_equal(attn_backend_open("baseline", SDPA_REF, &baseline_mode, 1, &baseline, &err), ATTN_OK);
    const char *splits[] = {"auto", "2", "3", "7"};
    for (size_t n = 0; n < sizeof splits / sizeof splits[0]; ++n) {
        attn_option fused_options[] = {{"splits", splits[n]}, {"split_merge", "fused"}};
        attn_option kernel_options[] = {{"splits", splits[n]}, {"split_merge", "kernel"}};
        attn_backend *fused = NULL, *kernel = NULL;
        assert_true(open_flex(fused_options, 2, &fused));
        assert_true(open_flex(kernel_options, 2, &kernel));
        char variant[32];
        snprintf(variant, sizeof variant, "fused/%s", splits[n]);
        compare_merges(variant, fused, kernel, golden, baseline);
        attn_backend_close(fused);
        attn_backend_close(kernel);
    }
    attn_backend_close(golden);
    attn_backend_close(baseline);
}

/* An unknown split_merge value is refused with the values it takes (runs without a GPU too). */
static void test_split_merge_option(void **state) {
    (void)state;
    expect_option_refused("split_merge", "second", "kernel or fused");
}

/* A q_len beyond Tq, visible only on the device: the kernels must clamp it and the run must
 * say ATTN_E_INVALID, with the backend still usable afterwards. */
static void test_length_out_of_range(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_backend *flex = NULL;
    assert_true(open_flex(NULL, 0, &flex));
    attn_error err = {0};
    DLDevice device;
    assert_int_equal(attn_backend_device(flex, &device, &err), ATTN_OK);
    enum { B = 1, H = 2, T = 8, D = 64 };
    int64_t shape[4] = {B, H, T, D}, strides[4] = {H * T * D, T * D, D, 1};
    int64_t len_shape[1] = {B}, len_strides[1] = {1};
    DLDataType f16 = {kDLFloat, 16, 1}, i32 = {kDLInt, 32, 1};
    uint16_t host[B * H * T * D];
    for (int n = 0; n < B * H * T * D; ++n) host[n] = 0x3c00; /* 1.0 */
    void *buffers[5];
    for (int n = 0; n < 4; ++n) {
        assert_int_equal(attn_backend_alloc(flex, sizeof host, &buffers[n], &err), ATTN_OK);
        assert_int_equal(attn_backend_to_device(flex, buffers[n], host, sizeof host, &err), ATTN_OK);
    }
    int32_t q_len[B] = {T + 5};
    assert_int_equal(attn_backend_alloc(flex, sizeof q_len, &buffers[4], &err), ATTN_OK);
    assert_int_equal(attn_backend_to_device(flex, buffers[4], q_len, sizeof q_len, &err), ATTN_OK);
    attn_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    DLTensor *main[4] = {&p.q, &p.k, &p.v, &p.o};
    for (int n = 0; n < 4; ++n) *main[n] = (DLTensor){buffers[n], device, 4, f16, shape, strides, 0};
    p.q_len = (DLTensor){buffers[4], device, 1, i32, len_shape, len_strides, 0};
    p.causal = 1;
    p.window_left = p.window_right = -1;
    attn_status st = attn_backend_run(flex, &p, &err);
    printf("out-of-range q_len: %s: %s\n", attn_status_name(st), err.message);
    assert_int_equal(st, ATTN_E_INVALID);
    assert_contains(err.message, "out of range");
    q_len[0] = T;
    assert_int_equal(attn_backend_to_device(flex, buffers[4], q_len, sizeof q_len, &err), ATTN_OK);
    assert_int_equal(attn_backend_run(flex, &p, &err), ATTN_OK);
    for (int n = 0; n < 5; ++n) attn_backend_free(flex, buffers[n]);
    attn_backend_close(flex);
}

/* A K/V view that no tensor map describes (heads broadcast: head stride 0) takes the mma.sync
 * loop instead of wgmma, which the log says at debug level, and computes exactly what that loop
 * computes with the heads materialised. */
static void test_untileable_view_logged(void **state) {
    (void)state;
    SKIP_WITHOUT_GPU();
    attn_backend *flex = NULL, *mma = NULL;
    attn_option mma_loop = {"main_loop", "mma"};
    assert_true(open_flex(NULL, 0, &flex));
    assert_true(open_flex(&mma_loop, 1, &mma));
    attn_error err = {0};
    DLDevice device;
    assert_int_equal(attn_backend_device(flex, &device, &err), ATTN_OK);
    enum { H = 2, T = 128, D = 64, HEAD = T * D, ALL = H * HEAD };
    static uint16_t q[ALL], kv[ALL], o[2][ALL];
    for (int n = 0; n < ALL; ++n) {
        q[n] = attn_f32_to_f16((float)((n * 7) % 23) / 23.0f - 0.5f);
        kv[n] = attn_f32_to_f16((float)((n % HEAD) * 5 % 19) / 19.0f - 0.5f); /* both heads alike */
    }
    void *buf[4]; /* q, k/v (both heads), o of each run */
    const uint16_t *host[4] = {q, kv, o[0], o[1]};
    for (int n = 0; n < 4; ++n) {
        assert_int_equal(attn_backend_alloc(flex, sizeof q, &buf[n], &err), ATTN_OK);
        assert_int_equal(attn_backend_to_device(flex, buf[n], host[n], sizeof q, &err), ATTN_OK);
    }
    int64_t shape[4] = {1, H, T, D}, dense[4] = {ALL, HEAD, D, 1}, broadcast[4] = {HEAD, 0, D, 1};
    DLDataType f16 = {kDLFloat, 16, 1};
    attn_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.q = (DLTensor){buf[0], device, 4, f16, shape, dense, 0};
    p.k = p.v = (DLTensor){buf[1], device, 4, f16, shape, broadcast, 0};
    p.o = (DLTensor){buf[2], device, 4, f16, shape, dense, 0};
    p.causal = 1;
    p.window_left = p.window_right = -1;

    const char *said = "flex-cuda: debug: prefill on the mma.sync loop, not wgmma";
    assert_int_equal(debug_lines_with(flex, &p, said, "K stride 0"), 1);

    p.k = p.v = (DLTensor){buf[1], device, 4, f16, shape, dense, 0};
    p.o.data = buf[3];
    assert_int_equal(attn_backend_run(mma, &p, &err), ATTN_OK);
    assert_int_equal(attn_backend_synchronize(flex, &err), ATTN_OK);
    assert_int_equal(attn_backend_synchronize(mma, &err), ATTN_OK);
    assert_int_equal(attn_backend_to_host(flex, o[0], buf[2], sizeof q, &err), ATTN_OK);
    assert_int_equal(attn_backend_to_host(mma, o[1], buf[3], sizeof q, &err), ATTN_OK);
    assert_memory_equal(o[0], o[1], sizeof q);
    for (int n = 0; n < 4; ++n) attn_backend_free(flex, buf[n]);
    attn_backend_close(flex);
    attn_backend_close(mma);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_auto_plan),
        cmocka_unit_test(test_forced_splits),
        cmocka_unit_test(test_exact_kernel),
        cmocka_unit_test(test_mma_main_loop),
        cmocka_unit_test(test_bad_main_loop),
        cmocka_unit_test(test_wgmma_192_rows),
        cmocka_unit_test(test_wgmma_128_rows),
        cmocka_unit_test(test_bad_block_rows),
        cmocka_unit_test(test_persistent),
        cmocka_unit_test(test_persistent_plan_logged),
        cmocka_unit_test(test_bad_persistent),
        cmocka_unit_test(test_split_merge_paths),
        cmocka_unit_test(test_split_merge_option),
        cmocka_unit_test(test_length_out_of_range),
        cmocka_unit_test(test_untileable_view_logged),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
