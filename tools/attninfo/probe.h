/* attninfo asks every plugin about itself in a worker process of its own (worker_process.h), so a
 * plugin that segfaults, hangs or exits while it is opened costs only its own entry in the
 * listing: the worker opens it and writes its report into a pipe, and attninfo copies that
 * report, or says how the worker was lost. */
#ifndef ATTNINFO_PROBE_H
#define ATTNINFO_PROBE_H

#include <attn/host/attn_host.h>

/* Prints, each line prefixed by `indent`, what the plugin at `path` (opened under
 * `display_name` with `options`; NULL and 0 for none) says about itself, why it did not open,
 * or "CRASHED: ...", "EXITED with status N", "TIMED OUT after N s" (timeout_s; 0: no limit).
 * Returns 1 when the candidate failed in any of those ways, 0 when it loaded or is only
 * unavailable on this machine. */
int probe_candidate(const char *display_name, const char *path, const attn_option *options, uint32_t option_count,
                    const char *indent, double timeout_s);

#endif
