/* Text from plugins and files (reasons, backend and row names) printed by the tools: a newline,
 * a '|' or an escape sequence in it must not forge table rows or reach the terminal as a
 * control code.  JSON output escapes on its own (json_out.h). */
#ifndef ATTN_TOOLS_TEXT_ESCAPE_H
#define ATTN_TOOLS_TEXT_ESCAPE_H

#include <stddef.h>

/* Copies s into out[cap] (always NUL-terminated, cut to fit) with every control byte (below
 * 0x20, and 0x7f) written as \xNN; in_table also writes '|' as "\|" (a markdown table cell).
 * Returns out, so that it can stand as a printf argument. */
const char *attn_tool_escape(const char *s, int in_table, char *out, size_t cap);

#endif
