/* The score modifiers by name.  A new ATTN_MOD_* needs one row here: case files accept its name,
 * attnrun gets an option of that name, labels show it. */
#include <string.h>

#include "attn_case.h"

typedef struct modifier_info {
    const char *name;
    const char *parameter; /* the case field attnrun's option sets from its value, or NULL */
} modifier_info;

static const modifier_info modifiers[] = {
    [ATTN_MOD_NONE] = {"none", NULL},
    [ATTN_MOD_SOFTCAP] = {"softcap", "softcap"},
    [ATTN_MOD_ALIBI] = {"alibi", NULL},
    [ATTN_MOD_SYNAPTIC] = {"synaptic", NULL},
};

int32_t attn_modifier_count(void) { return (int32_t)(sizeof modifiers / sizeof modifiers[0]); }

const char *attn_modifier_name(int32_t modifier) {
    return modifier >= 0 && modifier < attn_modifier_count() ? modifiers[modifier].name : "unknown";
}

int32_t attn_modifier_from_name(const char *name) {
    for (int32_t m = 0; m < attn_modifier_count(); ++m)
        if (!strcmp(name, modifiers[m].name)) return m;
    return -1;
}

const char *attn_modifier_parameter(int32_t modifier) {
    return modifier >= 0 && modifier < attn_modifier_count() ? modifiers[modifier].parameter : NULL;
}
