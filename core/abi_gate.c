/* A plugin reads only the problem fields it knows.  One built against headers older than a
 * field cannot see it, and one recompiled against newer headers without reading it would
 * compute as if the field were off: a silent wrong answer either way.  So libattn refuses, on
 * the plugin's behalf, a problem that sets a field appended after 1.1 that the plugin's table
 * does not list in `reads` (PLUGINS.md, "The problem grows the same way"). */
#include "internal.h"

static int uses_mask_mod(const attn_problem *p) { return p->mask_mod != NULL; }
static int uses_score_mod(const attn_problem *p) { return p->score_mod != NULL; }

/* Every appended field whose value changes the answer, with its ATTN_READS_* bit.  aux is not
 * here: tensors that no expression reads change nothing. */
static const struct {
    const char *field;
    uint32_t minor;
    uint64_t bit;
    int (*used)(const attn_problem *p);
} appended_fields[] = {
    {"mask_mod", 2, ATTN_READS_MASK_MOD, uses_mask_mod},
    {"score_mod", 2, ATTN_READS_SCORE_MOD, uses_score_mod},
};

attn_status attn_plugin_reads_problem(const attn_plugin_api *api, const char *backend_name, const attn_problem *p,
                                      attn_error *err) {
    uint32_t minor = ATTN_ABI_VERSION_MINOR_OF(api->abi_version);
    int has_reads = minor >= 2 && api->struct_size >= offsetof(attn_plugin_api, reads) + sizeof api->reads;
    uint64_t reads = has_reads ? api->reads : 0;
    for (size_t n = 0; n < sizeof appended_fields / sizeof appended_fields[0]; ++n) {
        if (!appended_fields[n].used(p) || (reads & appended_fields[n].bit)) continue;
        if (minor < appended_fields[n].minor)
            return attn_error_set(err, ATTN_E_UNSUPPORTED,
                                  "%s: not implemented: the problem sets %s (ABI 1.%u) and the plugin speaks ABI %u.%u, "
                                  "which has no such field",
                                  backend_name, appended_fields[n].field, appended_fields[n].minor,
                                  ATTN_ABI_VERSION_MAJOR_OF(api->abi_version), minor);
        return attn_error_set(err, ATTN_E_UNSUPPORTED,
                              "%s: not implemented: the problem sets %s, which this plugin does not read (its table's "
                              "`reads` lacks it)",
                              backend_name, appended_fields[n].field);
    }
    return ATTN_OK;
}
