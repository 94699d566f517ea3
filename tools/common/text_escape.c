#include "text_escape.h"

#include <stdio.h>

const char *attn_tool_escape(const char *s, int in_table, char *out, size_t cap) {
    size_t used = 0;
    for (; s && *s && used + 1 < cap; ++s) {
        unsigned char ch = (unsigned char)*s;
        char piece[5] = {(char)ch, 0};
        if (ch < 0x20 || ch == 0x7f) snprintf(piece, sizeof piece, "\\x%02x", ch);
        else if (ch == '|' && in_table) snprintf(piece, sizeof piece, "\\|");
        size_t length = 0;
        while (piece[length]) ++length;
        if (used + length + 1 > cap) break; /* never half an escape */
        for (size_t n = 0; n < length; ++n) out[used++] = piece[n];
    }
    if (cap) out[used] = '\0';
    return out;
}
