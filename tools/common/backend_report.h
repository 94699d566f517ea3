/* What an opened backend says about itself (plugin, version, ABI version, device, description,
 * describe() text), or why it could not be opened: one printer for attninfo and attnmatrix --list,
 * so both tools describe a backend in the same words. */
#ifndef ATTN_TOOLS_BACKEND_REPORT_H
#define ATTN_TOOLS_BACKEND_REPORT_H

#include <attn/host/attn_config.h>
#include <attn/host/attn_host.h>
#include <stdio.h>

/* "cpu:0", "cuda:1", ..., into out. */
void attn_tool_device_text(DLDevice device, char *out, size_t cap);

/* A config's backend entry: "name: <plugin file>" (the plugin's bare name when it was not found)
 * and, for an optional plugin that was not built here, "NOT FOUND (optional): <where it was looked
 * for>" two spaces deeper.  Returns 1 when the plugin file was found: the caller prints next what
 * the backend is (attn_tool_print_backend) or why it did not open (attn_tool_print_open_failure). */
int attn_tool_print_backend_entry(FILE *out, const attn_backend_spec *spec, const char *indent);

/* Prints the plugin's name, version, ABI version, device, description and describe() text,
 * each line prefixed by `indent`. */
void attn_tool_print_backend(FILE *out, attn_backend *backend, const char *indent);

/* Prints why a candidate did not open: "UNAVAILABLE on this machine: ..." (it loaded but cannot run
 * here) or "FAILED to load (<status>): <the loader's full message>". */
void attn_tool_print_open_failure(FILE *out, attn_status status, const char *message, const char *indent);

#endif
