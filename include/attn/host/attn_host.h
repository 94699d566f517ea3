/* libattn host API: load backends, validate problems, run them through the plugin's own
 * device services.  Tools and model runtimes link libattn; plugins never do. */
#ifndef ATTN_HOST_H
#define ATTN_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "../plugin/attn_plugin.h"
#include "../plugin/attn_problem.h"
#include "../plugin/attn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions libattn.so exports: the library is built with hidden visibility, so
 * what the host headers declare with ATTN_API is its whole ABI, and nothing else leaks
 * (tests/core/check_exports.sh holds the two to each other). */
#define ATTN_API __attribute__((visibility("default")))

#define ATTN_ERROR_CAP 1024

/* Every fallible host call fills one of these; status is also the return value. */
typedef struct attn_error {
    attn_status status;
    char message[ATTN_ERROR_CAP];
} attn_error;

/* Sets err (when not NULL) and returns status; printf-style message. */
ATTN_API attn_status attn_error_set(attn_error *err, attn_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
ATTN_API const char *attn_status_name(attn_status status);

/* ---- Plugin discovery -------------------------------------------------------------- */

/* Resolves a config's `plugin:` value to a file.  A value with a '/' is a path, relative to
 * `config_dir` unless absolute.  A bare name ("attn_sdpa_ref" or "libattn_sdpa_ref.so") is
 * searched for in the folders of attn_plugin_search_dirs, in order.  Every candidate tried
 * is named in the error. */
ATTN_API attn_status attn_plugin_resolve(const char *plugin, const char *config_dir, char *out_path, size_t out_cap,
                                attn_error *err);

/* The plugin search path, in order: each directory of $ATTN_PLUGIN_PATH (':'-separated), the
 * build tree's plugin folder next to the running executable (<exe>/../plugins), the installed
 * plugin folder next to libattn itself (<libdir>/attn/plugins, found at run time, so an
 * installation moved with `cmake --install --prefix` still finds its plugins), and the
 * plugin folder of the configured install prefix when that differs.  `visit` gets each folder
 * (existing or not) and where it came from ("ATTN_PLUGIN_PATH", "next to the executable",
 * "next to libattn", "install prefix"); strings are valid during the call only. */
typedef void (*attn_search_dir_fn)(const char *dir, const char *origin, void *context);
ATTN_API void attn_plugin_search_dirs(attn_search_dir_fn visit, void *context);

/* ---- Backends ---------------------------------------------------------------------- */

typedef struct attn_backend attn_backend;

/* Opens the plugin file (dlopen RTLD_NOW | RTLD_LOCAL), negotiates the ABI and creates an
 * instance with the options.  `name` is the instance's display name (the config's).
 * On ATTN_E_UNAVAILABLE the backend cannot run on this machine; err says why. */
ATTN_API attn_status attn_backend_open(const char *name, const char *plugin_path, const attn_option *options,
                              uint32_t option_count, attn_backend **out, attn_error *err);
ATTN_API void attn_backend_close(attn_backend *backend);

ATTN_API const char *attn_backend_name(const attn_backend *backend);
ATTN_API const char *attn_backend_plugin_path(const attn_backend *backend);
ATTN_API const attn_plugin_api *attn_backend_api(const attn_backend *backend);
ATTN_API uint32_t attn_backend_abi_version(const attn_backend *backend);

/* The plugin's own summary of what it computes (ABI 1.1 describe()), NUL-terminated in
 * out[cap].  ATTN_E_UNSUPPORTED, with err saying so, when the plugin does not implement it
 * (an ABI 1.0 plugin, or a 1.1 one that leaves the entry NULL). */
ATTN_API attn_status attn_backend_describe(attn_backend *backend, char *out, size_t cap, attn_error *err);
ATTN_API attn_status attn_backend_device(attn_backend *backend, DLDevice *out, attn_error *err);

/* Validates the problem, then asks the plugin.  ATTN_OK or the refusal with its reason. */
ATTN_API attn_status attn_backend_check(attn_backend *backend, const attn_problem *problem, attn_error *err);
/* Validates, runs and synchronises.  A refusal comes from the plugin's run(), which refuses
 * through the same code path as its check(). */
ATTN_API attn_status attn_backend_run(attn_backend *backend, const attn_problem *problem, attn_error *err);
/* Validates and starts the run without waiting for it: a device backend enqueues its work on
 * problem->stream and returns; O and LSE are ready, and the inputs free to change, once that
 * stream (or attn_backend_synchronize) has finished it.  What an application that owns its
 * streams calls, and what a CUDA graph can capture.  A CPU backend has finished on return. */
ATTN_API attn_status attn_backend_enqueue(attn_backend *backend, const attn_problem *problem, attn_error *err);
/* The steady-state call of a loop: the plugin's run() and synchronize, without validation.
 * Only for a problem that attn_backend_check accepted, unchanged since but for the data behind
 * its tensors (a decode loop, a benchmark); attn_backend_run validates every call. */
ATTN_API attn_status attn_backend_run_prevalidated(attn_backend *backend, const attn_problem *problem,
                                                   attn_error *err);

/* The plugin's device services. */
ATTN_API attn_status attn_backend_alloc(attn_backend *backend, uint64_t bytes, void **out, attn_error *err);
ATTN_API void attn_backend_free(attn_backend *backend, void *ptr);
ATTN_API attn_status attn_backend_to_device(attn_backend *backend, void *dst, const void *src, uint64_t bytes,
                                   attn_error *err);
ATTN_API attn_status attn_backend_to_host(attn_backend *backend, void *dst, const void *src, uint64_t bytes,
                                 attn_error *err);
ATTN_API attn_status attn_backend_synchronize(attn_backend *backend, attn_error *err);

/* ---- Validation -------------------------------------------------------------------- */

/* Everything that must hold before any plugin sees a problem: struct size, dtypes, ranks,
 * shapes, strides (non-negative, byte extents without 64-bit overflow), Hq % Hkv, lengths
 * and aux tensors, modifier parameters, dropout p in [0, 1), O and LSE not overlapping any
 * input.  Length *values* live on the device and are the backend's to bound-check: the
 * host validates them with attn_problem_validate_lengths when it holds them. */
ATTN_API attn_status attn_problem_validate(const attn_problem *problem, attn_error *err);
/* Checks host copies of q_len / kv_len / prefix_len (any may be NULL) against Tq and Tk. */
ATTN_API attn_status attn_problem_validate_lengths(const attn_problem *problem, const int32_t *q_len, const int32_t *kv_len,
                                          const int32_t *prefix_len, attn_error *err);

/* Problem dims, read from the tensors (after validation). */
typedef struct attn_dims {
    int64_t batch, q_heads, kv_heads, q_len, kv_len, head_dim, value_dim;
} attn_dims;
ATTN_API attn_dims attn_problem_dims(const attn_problem *problem);
ATTN_API double attn_problem_scale(const attn_problem *problem);

#ifdef __cplusplus
}
#endif
#endif
