/* attninfo: what one opened backend says about itself, or why it could not be opened. */
#ifndef ATTNINFO_PLUGIN_REPORT_H
#define ATTNINFO_PLUGIN_REPORT_H

#include <attn/host/attn_host.h>
#include <stdio.h>

/* "cpu:0", "cuda:1", ..., into out. */
void device_text(DLDevice device, char *out, size_t cap);

/* Prints the plugin's name, version, ABI version, device, description and describe() text,
 * each line prefixed by `indent`. */
void print_backend(FILE *out, attn_backend *backend, const char *indent);

/* Prints why a candidate did not load: "UNAVAILABLE: ..." (it loaded but cannot run on this
 * machine) or "FAILED (<status>): <the loader's full message>". */
void print_open_failure(FILE *out, attn_status status, const char *message, const char *indent);

#endif
