/* The problem-size rule of attn_problem.h.  A caller compiled against older headers hands a
 * shorter attn_problem, one compiled against newer headers a longer one; libattn validates,
 * and hands every plugin, a copy of its own size, so a plugin reads exactly the fields this
 * libattn knows, with zero ("feature off") for those the caller did not have. */
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
