/* JSON output shared by the tools (attnmatrix --format json, attnbench --format json). */
#ifndef ATTN_TOOLS_JSON_OUT_H
#define ATTN_TOOLS_JSON_OUT_H

#include <stdio.h>

/* Writes s as a JSON string literal, quotes included, escaping what JSON requires. */
void json_string(FILE *out, const char *s);

#endif
