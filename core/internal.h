/* Helpers shared by the files of libattn (the runtime) alone; not installed.  Helpers the
 * harness needs as well live in core/internal/. */
#ifndef ATTN_CORE_INTERNAL_H
#define ATTN_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attn/host/attn_expr_parse.h"
#include "attn/host/attn_host.h"
#include "attn/plugin/attn_plugin.h"

/* Host log threshold from $ATTN_LOG (error, warn, info, debug); warn by default. */
int32_t attn_log_threshold(void);

/* The problem as libattn works on it: a copy of libattn's own size whatever size the caller
 * was compiled with (fields it did not have are zero), struct_size set to ours.  Refuses a
 * size below ABI 1.0's and non-zero fields beyond ours, naming the sizes (problem_size.c). */
attn_status attn_problem_adopt(const attn_problem *given, attn_problem *out, attn_error *err);
/* attn_problem_adopt, then attn_problem_validate's checks on the copy. */
attn_status attn_problem_adopt_valid(const attn_problem *given, attn_problem *out, attn_error *err);

/* The problem a plugin is handed: the adopted copy, whose present tensors' shape and strides
 * point into host-owned arrays beside it, so that nothing a plugin writes through them reaches
 * the caller's arrays (a plugin that scribbles on o.strides must not crash its host). */
#define ATTN_PROBLEM_TENSORS 12 /* q, k, v, o, lse, q_len, kv_len, doc_q, doc_k, prefix_len, alibi_slopes, synaptic_w */
#define ATTN_PROBLEM_MAX_RANK 4
typedef struct attn_handed_problem {
    attn_problem problem;
    int64_t shape[ATTN_PROBLEM_TENSORS][ATTN_PROBLEM_MAX_RANK];
    int64_t strides[ATTN_PROBLEM_TENSORS][ATTN_PROBLEM_MAX_RANK];
    /* ABI 1.2's aux tensors: the array, its names and each tensor's arrays, copied likewise */
    DLTensor aux[ATTN_PROBLEM_MAX_AUX];
    const char *aux_names[ATTN_PROBLEM_MAX_AUX];
    int64_t aux_shape[ATTN_PROBLEM_MAX_AUX][ATTN_PROBLEM_MAX_RANK];
    int64_t aux_strides[ATTN_PROBLEM_MAX_AUX][ATTN_PROBLEM_MAX_RANK];
} attn_handed_problem;
/* attn_problem_adopt into out->problem, then the arrays copied; refuses a present tensor whose
 * arrays it cannot copy (no shape or strides, a rank outside 0..4), which validation refuses too. */
attn_status attn_problem_hand_over(const attn_problem *given, attn_handed_problem *out, attn_error *err);
/* The same after attn_problem_adopt_valid: validated, then copied. */
attn_status attn_problem_hand_over_valid(const attn_problem *given, attn_handed_problem *out, attn_error *err);
/* attn_backend_check on a problem already validated and handed over (attn_select validates once
 * and hands each candidate a fresh copy, so that no candidate sees what another wrote). */
attn_status attn_backend_check_handed(attn_backend *backend, const attn_handed_problem *handed, attn_error *err);

/* ABI 1.2's fields of an adopted problem: mask_mod and score_mod are trees the parser could
 * have built, every aux tensor they read is given with their rank and element type, aux
 * tensors are well-formed and distinct from the outputs, score_mod excludes `modifier`
 * (validate_expr.c). */
attn_status attn_problem_validate_expressions(const attn_problem *p, attn_error *err);
/* A tree built by hand, checked node by node against the parser's type rules; `field`
 * ("mask_mod") starts the message (expr/verify.c). */
attn_status attn_expr_verify(const attn_expr *e, attn_expr_kind kind, const char *field, attn_error *err);
/* ATTN_E_UNSUPPORTED ("not implemented", naming the field) when the problem sets a field
 * appended after 1.1 that the plugin's table does not list in `reads` (abi_gate.c). */
attn_status attn_plugin_reads_problem(const attn_plugin_api *api, const char *backend_name, const attn_problem *p,
                                      attn_error *err);

/* Looks at a plugin file before dlopen maps it: a regular file, an ELF shared object of this
 * host's class, byte order and machine, whose program headers and PT_LOAD segments lie inside
 * the file (a truncated one would die of SIGBUS in dlopen).  ATTN_E_LOAD naming the file and
 * the fault; ATTN_OK for what it leaves to dlopen (a missing file, a bare name) (elf_check.c). */
attn_status attn_elf_check_plugin(const char *path, attn_error *err);

#endif
