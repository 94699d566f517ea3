/* The problem-size rule of attn_problem.h.  A caller compiled against older headers hands a
 * shorter attn_problem, one compiled against newer headers a longer one; libattn validates,
 * and hands every plugin, a copy of its own size, so a plugin reads exactly the fields this
 * libattn knows, with zero ("feature off") for those the caller did not have.  The copy a
 * plugin gets carries copies of the tensors' shape and strides arrays too: the plugin's writes
 * stay in the host's copy. */
#include <string.h>

#include "internal.h"

/* Past this many bytes beyond our own size a struct_size is not a newer header's but an
 * unset field: refuse it instead of reading that far into the caller's memory. */
#define PROBLEM_GROWTH_LIMIT 1024u

attn_status attn_problem_adopt(const attn_problem *given, attn_problem *out, attn_error *err) {
    if (!given) return attn_error_set(err, ATTN_E_INVALID, "problem is NULL");
    uint32_t size = given->struct_size;
    if (size < ATTN_PROBLEM_SIZE_1_0)
        return attn_error_set(err, ATTN_E_INVALID,
                              "problem struct_size %u is smaller than ABI 1.0's %zu (set it to sizeof(attn_problem))", size,
                              (size_t)ATTN_PROBLEM_SIZE_1_0);
    if (size > sizeof(attn_problem) + PROBLEM_GROWTH_LIMIT)
        return attn_error_set(err, ATTN_E_INVALID,
                              "problem struct_size %u is not a size any ABI 1.x has (this libattn's is %zu): is it set?", size,
                              sizeof(attn_problem));
    /* Fields of a newer ABI that the caller set would be silently ignored here: refuse them. */
    const unsigned char *bytes = (const unsigned char *)given;
    for (size_t at = sizeof(attn_problem); at < size; ++at)
        if (bytes[at] != 0)
            return attn_error_set(err, ATTN_E_ABI,
                                  "problem sets fields this libattn (ABI %u.%u, %zu bytes) does not know: struct_size %u, "
                                  "non-zero byte at offset %zu; use a libattn as new as the headers the caller was built with",
                                  ATTN_ABI_MAJOR, ATTN_ABI_MINOR, sizeof(attn_problem), size, at);
    memset(out, 0, sizeof *out);
    memcpy(out, given, size < sizeof(attn_problem) ? size : sizeof(attn_problem));
    out->struct_size = sizeof(attn_problem);
    return ATTN_OK;
}

/* Points a present tensor's shape and strides at the given copies of them. */
static attn_status own_tensor_arrays(DLTensor *t, const char *name, int64_t *shape, int64_t *strides, attn_error *err) {
    if (!attn_tensor_present(t)) return ATTN_OK; /* a plugin never reads an absent tensor's arrays */
    if (t->ndim < 0 || t->ndim > ATTN_PROBLEM_MAX_RANK)
        return attn_error_set(err, ATTN_E_INVALID, "%s: rank %d is outside 0..%d", name, t->ndim, ATTN_PROBLEM_MAX_RANK);
    if (!t->shape || !t->strides)
        return attn_error_set(err, ATTN_E_INVALID, "%s: shape and strides must both be given", name);
    memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    memcpy(strides, t->strides, sizeof(int64_t) * (size_t)t->ndim);
    t->shape = shape;
    t->strides = strides;
    return ATTN_OK;
}

/* ABI 1.2's aux tensors: the array and the names array are copied too, so that a plugin holds
 * nothing of the caller's but the names' text and the data. */
static attn_status own_aux(attn_handed_problem *out, attn_error *err) {
    attn_problem *p = &out->problem;
    if (p->aux_count == 0) {
        p->aux = NULL;
        p->aux_names = NULL;
        return ATTN_OK;
    }
    if (p->aux_count > ATTN_PROBLEM_MAX_AUX || !p->aux || !p->aux_names)
        return attn_error_set(err, ATTN_E_INVALID, "aux_count %u: at most %d, with aux and aux_names given", p->aux_count,
                              ATTN_PROBLEM_MAX_AUX);
    memcpy(out->aux, p->aux, sizeof(DLTensor) * p->aux_count);
    memcpy(out->aux_names, p->aux_names, sizeof(const char *) * p->aux_count);
    for (uint32_t k = 0; k < p->aux_count; ++k) {
        attn_status st = own_tensor_arrays(&out->aux[k], "aux", out->aux_shape[k], out->aux_strides[k], err);
        if (st != ATTN_OK) return st;
    }
    p->aux = out->aux;
    p->aux_names = out->aux_names;
    return ATTN_OK;
}

/* Points each present tensor's shape and strides at out's own copies of them. */
static attn_status own_arrays(attn_handed_problem *out, attn_error *err) {
    attn_problem *p = &out->problem;
    const struct {
        DLTensor *tensor;
        const char *name;
    } tensors[] = {{&p->q, "q"},           {&p->k, "k"},         {&p->v, "v"},
                   {&p->o, "o"},           {&p->lse, "lse"},     {&p->q_len, "q_len"},
                   {&p->kv_len, "kv_len"}, {&p->doc_q, "doc_q"}, {&p->doc_k, "doc_k"},
                   {&p->prefix_len, "prefix_len"},
                   {&p->alibi_slopes, "alibi_slopes"},
                   {&p->synaptic_w, "synaptic_w"}};
    _Static_assert(sizeof tensors / sizeof tensors[0] == ATTN_PROBLEM_TENSORS, "every tensor of attn_problem");
    for (size_t n = 0; n < ATTN_PROBLEM_TENSORS; ++n) {
        attn_status st = own_tensor_arrays(tensors[n].tensor, tensors[n].name, out->shape[n], out->strides[n], err);
        if (st != ATTN_OK) return st;
    }
    return own_aux(out, err);
}

attn_status attn_problem_hand_over(const attn_problem *given, attn_handed_problem *out, attn_error *err) {
    attn_status st = attn_problem_adopt(given, &out->problem, err);
    return st == ATTN_OK ? own_arrays(out, err) : st;
}

attn_status attn_problem_hand_over_valid(const attn_problem *given, attn_handed_problem *out, attn_error *err) {
    attn_status st = attn_problem_adopt_valid(given, &out->problem, err);
    return st == ATTN_OK ? own_arrays(out, err) : st;
}
