/* libFuzzer target: the mask_mod / score_mod expression parser and the header-only evaluator.
 * Any bytes, parsed as both kinds with a few declared aux tensors, must give ATTN_OK or a clean
 * error; whatever parses must be a well-formed tree, and evaluating it at a few points (indices
 * outside the tensors included) must never crash, leak or read outside a tensor: every tensor
 * is allocated with exactly its elements, so ASan sees any stray read. */
#include <attn/host/attn_expr_parse.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const attn_expr_aux declared[] = {
    {"bias", ATTN_EXPR_FLOAT, 2},
    {"keep", ATTN_EXPR_BOOL, 1},
    {"doc", ATTN_EXPR_INT, 1},
    {"temp", ATTN_EXPR_FLOAT, 0},
};
#define DECLARED_COUNT 4

static const int64_t bias_shape[2] = {3, 5}, bias_strides[2] = {5, 1};
static const int64_t vec_shape[1] = {4}, vec_strides[1] = {1};

/* The structural promises the parser makes to every plugin. */
static void check_tree(const attn_expr *e, attn_expr_kind kind) {
    if (e->struct_size != sizeof(attn_expr) || e->node_count == 0 || e->node_count > ATTN_EXPR_MAX_NODES ||
        e->aux_count > DECLARED_COUNT || !e->text)
        __builtin_trap();
    for (uint32_t i = 0; i < e->node_count; i++) {
        const attn_expr_node *n = &e->nodes[i];
        if (n->arity > ATTN_EXPR_MAX_ARITY || n->type < ATTN_EXPR_BOOL || n->type > ATTN_EXPR_FLOAT) __builtin_trap();
        for (int a = 0; a < n->arity; a++)
            if (n->args[a] < 0 || (uint32_t)n->args[a] >= i) __builtin_trap();
        if (n->op == ATTN_EXPR_OP_AUX && (n->value.aux < 0 || (uint32_t)n->value.aux >= e->aux_count)) __builtin_trap();
    }
    uint8_t root = e->nodes[e->node_count - 1].type;
    if (root != (kind == ATTN_EXPR_MASK ? ATTN_EXPR_BOOL : ATTN_EXPR_FLOAT)) __builtin_trap();
}

static void evaluate(const attn_expr *e) {
    float *bias = malloc(15 * sizeof(float));
    uint8_t *keep = malloc(4);
    int32_t *doc = malloc(4 * sizeof(int32_t));
    float *temp = malloc(sizeof(float));
    if (!bias || !keep || !doc || !temp) goto done;
    for (int k = 0; k < 15; k++) bias[k] = 0.5f * (float)k - 3.0f;
    for (int k = 0; k < 4; k++) keep[k] = (uint8_t)(k & 1), doc[k] = k - 1;
    *temp = 2.0f;
    attn_expr_tensor aux[DECLARED_COUNT];
    for (uint32_t k = 0; k < e->aux_count; k++) {
        const char *name = e->aux[k].name;
        if (strcmp(name, "bias") == 0)
            aux[k] = (attn_expr_tensor){bias, ATTN_EXPR_ELEM_F32, 2, bias_shape, bias_strides};
        else if (strcmp(name, "keep") == 0)
            aux[k] = (attn_expr_tensor){keep, ATTN_EXPR_ELEM_BOOL_U8, 1, vec_shape, vec_strides};
        else if (strcmp(name, "doc") == 0)
            aux[k] = (attn_expr_tensor){doc, ATTN_EXPR_ELEM_I32, 1, vec_shape, vec_strides};
        else if (strcmp(name, "temp") == 0)
            aux[k] = (attn_expr_tensor){temp, ATTN_EXPR_ELEM_F32, 0, NULL, NULL};
        else
            __builtin_trap(); /* a name that was never declared */
    }
    static const struct {
        int64_t b, h, q, kv;
        double score;
    } points[] = {
        {0, 0, 0, 0, 0.0}, {1, 2, 7, 3, -1.5}, {0, 1, -5, 100, 1e30}, {3, 0, 2, 2, NAN}, {0, 4, INT64_MAX, INT64_MIN, -INFINITY},
    };
    static attn_expr_scratch scratch;
    attn_expr_value out;
    for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
        attn_expr_env env = {points[p].b, points[p].h, points[p].q, points[p].kv, points[p].score, e->aux_count, aux};
        int status = attn_expr_eval(e, &env, &scratch, &out);
        if (status != ATTN_EXPR_OK && status != ATTN_EXPR_E_DIV_ZERO && status != ATTN_EXPR_E_INDEX) __builtin_trap();
    }
done:
    free(bias);
    free(keep);
    free(doc);
    free(temp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const attn_expr_kind kinds[2] = {ATTN_EXPR_MASK, ATTN_EXPR_SCORE};
    for (int k = 0; k < 2; k++) {
        attn_expr *e = NULL;
        attn_error err;
        if (attn_expr_parse(text, kinds[k], declared, DECLARED_COUNT, &e, &err) == ATTN_OK) {
            check_tree(e, kinds[k]);
            evaluate(e);
            attn_expr_free(e);
        } else if (e != NULL || err.message[0] == '\0') {
            __builtin_trap(); /* a failure leaves no expression and always says why */
        }
    }
    free(text);
    return 0;
}
