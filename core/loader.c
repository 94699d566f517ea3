/* Loading a plugin file, negotiating its ABI and wrapping its table as an attn_backend.
 *
 * Every failure names the file and says what went wrong in full: the dlerror() text, the
 * missing symbol, or both ABI versions.  Nothing a plugin hands back is trusted to be well
 * formed: the file is looked at before dlopen maps it (elf_check.c), every message buffer is
 * terminated by the host, and the problem a plugin may write to is the host's own copy. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn/host/attn_host.h"
#include "internal.h"

struct attn_backend {
    char *name;
    char *path;
    void *handle; /* dlopen handle; dlclose'd after destroy */
    const attn_plugin_api *api;
    void *instance;
};

static void host_log(void *host_context, int32_t level, const char *plugin_name, const char *message) {
    (void)host_context;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level < ATTN_LOG_ERROR || level > ATTN_LOG_DEBUG) level = ATTN_LOG_INFO;
    if (level > attn_log_threshold()) return;
    fprintf(stderr, "%s: %s: %s\n", plugin_name ? plugin_name : "plugin", names[level], message);
}

/* The core's one piece of global state: loading and unloading are serialised, so that a
 * plugin's entry, create and destroy never run concurrently with another load (plugins may
 * keep static state in them), and so that ThreadSanitizer sees the ordering that glibc's
 * own loader lock provides invisibly.  run() and the device services are not under it. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static const attn_host_services host_services = {sizeof(attn_host_services), ATTN_ABI_VERSION, NULL, host_log};

static attn_status negotiate(const char *path, const attn_plugin_api *api, attn_error *err) {
    if (!api) return attn_error_set(err, ATTN_E_ABI, "%s: the entry point returned success but no table", path);
    uint32_t v = api->abi_version;
    if (ATTN_ABI_VERSION_MAJOR_OF(v) != ATTN_ABI_MAJOR || v < ATTN_ABI_FLOOR)
        return attn_error_set(err, ATTN_E_ABI,
                              "%s: plugin speaks ABI %u.%u, this host speaks %u.%u and loads %u.%u to %u.x",
                              path, ATTN_ABI_VERSION_MAJOR_OF(v), ATTN_ABI_VERSION_MINOR_OF(v), ATTN_ABI_MAJOR,
                              ATTN_ABI_MINOR, ATTN_ABI_VERSION_MAJOR_OF(ATTN_ABI_FLOOR),
                              ATTN_ABI_VERSION_MINOR_OF(ATTN_ABI_FLOOR), ATTN_ABI_MAJOR);
    if (api->struct_size < offsetof(attn_plugin_api, synchronize) + sizeof(api->synchronize))
        return attn_error_set(err, ATTN_E_ABI, "%s: plugin table of %u bytes is smaller than ABI 1.0's %zu", path,
                              api->struct_size, offsetof(attn_plugin_api, synchronize) + sizeof(api->synchronize));
    const char *missing = NULL;
    if (!api->create) missing = "create";
    else if (!api->destroy) missing = "destroy";
    else if (!api->device_of) missing = "device_of";
    else if (!api->check) missing = "check";
    else if (!api->run) missing = "run";
    else if (!api->alloc) missing = "alloc";
    else if (!api->free) missing = "free";
    else if (!api->copy_to_device) missing = "copy_to_device";
    else if (!api->copy_to_host) missing = "copy_to_host";
    else if (!api->synchronize) missing = "synchronize";
    if (missing)
        return attn_error_set(err, ATTN_E_ABI, "%s: plugin table leaves the required entry '%s' NULL", path, missing);
    if (!api->name || !api->name[0])
        return attn_error_set(err, ATTN_E_ABI, "%s: plugin table has no name", path);
    return ATTN_OK;
}

static attn_status backend_open_locked(const char *name, const char *plugin_path, const attn_option *options,
                                      uint32_t option_count, attn_backend **out, attn_error *err);
static void backend_close_locked(attn_backend *backend);

/* A plugin's message as the host reads it.  The contract asks plugins to NUL-terminate, but one
 * that fills the whole buffer must not make the host read past it (into its own stack). */
static const char *plugin_message(char *msg, size_t cap) {
    msg[cap - 1] = '\0';
    return msg;
}

attn_status attn_backend_open(const char *name, const char *plugin_path, const attn_option *options,
                              uint32_t option_count, attn_backend **out, attn_error *err) {
    pthread_mutex_lock(&load_lock);
    attn_status st = backend_open_locked(name, plugin_path, options, option_count, out, err);
    pthread_mutex_unlock(&load_lock);
    return st;
}

void attn_backend_close(attn_backend *backend) {
    if (!backend) return;
    pthread_mutex_lock(&load_lock);
    backend_close_locked(backend);
    pthread_mutex_unlock(&load_lock);
}

static attn_status backend_open_locked(const char *name, const char *plugin_path, const attn_option *options,
                                      uint32_t option_count, attn_backend **out, attn_error *err) {
    *out = NULL;
    attn_status st = attn_elf_check_plugin(plugin_path, err);
    if (st != ATTN_OK) return st;
    dlerror();
    void *handle = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return attn_error_set(err, ATTN_E_LOAD, "cannot load plugin %s: %s", plugin_path, why ? why : "unknown dlopen error");
    }
    dlerror();
    void *symbol = dlsym(handle, ATTN_PLUGIN_ENTRY_SYMBOL);
    if (!symbol) {
        const char *why = dlerror();
        attn_error_set(err, ATTN_E_LOAD, "%s is not an attention plugin: no symbol '%s' (%s)", plugin_path,
                       ATTN_PLUGIN_ENTRY_SYMBOL, why ? why : "symbol is NULL");
        dlclose(handle);
        return ATTN_E_LOAD;
    }
    attn_plugin_entry_fn entry;
    memcpy(&entry, &symbol, sizeof entry); /* object pointer to function pointer, as POSIX allows */

    char msg[ATTN_MSG_CAP] = "";
    const attn_plugin_api *api = NULL;
    st = entry(ATTN_ABI_VERSION, &host_services, &api, msg, sizeof msg);
    if (st != ATTN_OK) {
        /* The plugin's own status passes through: ATTN_E_UNAVAILABLE (no device) must read as SKIP. */
        const char *why = plugin_message(msg, sizeof msg);
        attn_error_set(err, st, "%s: plugin refused to load (%s): %s (host ABI %u.%u)", plugin_path, attn_status_name(st),
                       why[0] ? why : "no reason given", ATTN_ABI_MAJOR, ATTN_ABI_MINOR);
        dlclose(handle);
        return st;
    }
    st = negotiate(plugin_path, api, err);
    if (st != ATTN_OK) {
        dlclose(handle);
        return st;
    }

    attn_backend *backend = calloc(1, sizeof *backend);
    char *name_copy = strdup(name ? name : api->name);
    char *path_copy = strdup(plugin_path);
    if (!backend || !name_copy || !path_copy) {
        free(backend);
        free(name_copy);
        free(path_copy);
        dlclose(handle);
        return attn_error_set(err, ATTN_E_NOMEM, "out of memory opening %s", plugin_path);
    }
    backend->name = name_copy;
    backend->path = path_copy;
    backend->handle = handle;
    backend->api = api;

    msg[0] = '\0';
    st = api->create(&host_services, options, option_count, &backend->instance, msg, sizeof msg);
    if (st != ATTN_OK) {
        const char *why = plugin_message(msg, sizeof msg);
        attn_error_set(err, st, "%s (%s): %s", backend->name, plugin_path, why[0] ? why : attn_status_name(st));
        backend->instance = NULL;
        backend_close_locked(backend);
        return st;
    }
    *out = backend;
    return ATTN_OK;
}

static void backend_close_locked(attn_backend *backend) {
    if (backend->instance) backend->api->destroy(backend->instance);
    if (backend->handle) dlclose(backend->handle);
    free(backend->name);
    free(backend->path);
    free(backend);
}

const char *attn_backend_name(const attn_backend *backend) { return backend->name; }
const char *attn_backend_plugin_path(const attn_backend *backend) { return backend->path; }
const attn_plugin_api *attn_backend_api(const attn_backend *backend) { return backend->api; }
uint32_t attn_backend_abi_version(const attn_backend *backend) { return backend->api->abi_version; }

/* Prefixes a plugin's message (msg, a buffer of cap bytes) with the backend name and the call. */
static attn_status plugin_failure(const attn_backend *backend, const char *call, attn_status st, char *msg, size_t cap,
                                  attn_error *err) {
    const char *why = plugin_message(msg, cap);
    return attn_error_set(err, st, "%s: %s: %s", backend->name, call, why[0] ? why : attn_status_name(st));
}

attn_status attn_backend_device(attn_backend *backend, DLDevice *out, attn_error *err) {
    char msg[ATTN_MSG_CAP] = "";
    attn_status st = backend->api->device_of(backend->instance, out, msg, sizeof msg);
    return st == ATTN_OK ? ATTN_OK : plugin_failure(backend, "device_of", st, msg, sizeof msg, err);
}

attn_status attn_backend_check_handed(attn_backend *backend, const attn_handed_problem *handed, attn_error *err) {
    char msg[ATTN_MSG_CAP] = "";
    attn_status st = attn_plugin_reads_problem(backend->api, backend->name, &handed->problem, err);
    if (st != ATTN_OK) return st;
    st = backend->api->check(backend->instance, &handed->problem, msg, sizeof msg);
    if (st == ATTN_OK) return ATTN_OK;
    return plugin_failure(backend, "check", st, msg, sizeof msg, err);
}

attn_status attn_backend_check(attn_backend *backend, const attn_problem *problem, attn_error *err) {
    attn_handed_problem handed;
    attn_status st = attn_problem_hand_over_valid(problem, &handed, err);
    return st == ATTN_OK ? attn_backend_check_handed(backend, &handed, err) : st;
}

/* No check() first: a plugin's run() refuses through the same code path as its check()
 * (PLUGINS.md), so asking twice would only pay for the capability test (and any planning
 * behind it) twice.  A refusal comes back from run() with its reason. */
static attn_status start_handed(attn_backend *backend, const attn_handed_problem *handed, attn_error *err) {
    char msg[ATTN_MSG_CAP] = "";
    attn_status st = attn_plugin_reads_problem(backend->api, backend->name, &handed->problem, err);
    if (st != ATTN_OK) return st;
    st = backend->api->run(backend->instance, &handed->problem, msg, sizeof msg);
    return st == ATTN_OK ? ATTN_OK : plugin_failure(backend, "run", st, msg, sizeof msg, err);
}

static attn_status run_handed(attn_backend *backend, const attn_handed_problem *handed, attn_error *err) {
    attn_status st = start_handed(backend, handed, err);
    return st == ATTN_OK ? attn_backend_synchronize(backend, err) : st;
}

attn_status attn_backend_enqueue(attn_backend *backend, const attn_problem *problem, attn_error *err) {
    attn_handed_problem handed;
    attn_status st = attn_problem_hand_over_valid(problem, &handed, err);
    return st == ATTN_OK ? start_handed(backend, &handed, err) : st;
}

attn_status attn_backend_run(attn_backend *backend, const attn_problem *problem, attn_error *err) {
    attn_handed_problem handed;
    attn_status st = attn_problem_hand_over_valid(problem, &handed, err);
    return st == ATTN_OK ? run_handed(backend, &handed, err) : st;
}

/* The size rule and the copied arrays still hold (a copy of our size and at most 96 int64s,
 * about a kilobyte): plugins rely on the first, callers on the second. */
attn_status attn_backend_run_prevalidated(attn_backend *backend, const attn_problem *problem, attn_error *err) {
    attn_handed_problem handed;
    attn_status st = attn_problem_hand_over(problem, &handed, err);
    return st == ATTN_OK ? run_handed(backend, &handed, err) : st;
}

attn_status attn_backend_describe(attn_backend *backend, char *out, size_t cap, attn_error *err) {
    if (cap) out[0] = '\0';
    const attn_plugin_api *api = backend->api;
    uint32_t v = api->abi_version;
    if (!ATTN_PLUGIN_API_HAS(api, describe, 1)) {
        if (ATTN_ABI_VERSION_MINOR_OF(v) < 1)
            return attn_error_set(err, ATTN_E_UNSUPPORTED, "%s: plugin implements ABI %u.%u: no describe()", backend->name,
                                  ATTN_ABI_VERSION_MAJOR_OF(v), ATTN_ABI_VERSION_MINOR_OF(v));
        return attn_error_set(err, ATTN_E_UNSUPPORTED, "%s: plugin speaks ABI %u.%u but leaves describe() NULL: no describe()",
                              backend->name, ATTN_ABI_VERSION_MAJOR_OF(v), ATTN_ABI_VERSION_MINOR_OF(v));
    }
    /* The plugin writes into a buffer of the size the ABI promises, never less; the host
     * copies what fits into the caller's. */
    char text[2048] = "";
    attn_status st = api->describe(backend->instance, text, sizeof text);
    if (st != ATTN_OK) return plugin_failure(backend, "describe", st, text, sizeof text, err);
    if (cap) snprintf(out, cap, "%s", plugin_message(text, sizeof text));
    return ATTN_OK;
}

attn_status attn_backend_alloc(attn_backend *backend, uint64_t bytes, void **out, attn_error *err) {
    char msg[ATTN_MSG_CAP] = "";
    *out = NULL;
    attn_status st = backend->api->alloc(backend->instance, bytes, out, msg, sizeof msg);
    if (st == ATTN_OK && !*out) return attn_error_set(err, ATTN_E_NOMEM, "%s: alloc returned no memory", backend->name);
    return st == ATTN_OK ? ATTN_OK : plugin_failure(backend, "alloc", st, msg, sizeof msg, err);
}

void attn_backend_free(attn_backend *backend, void *ptr) {
    if (ptr) backend->api->free(backend->instance, ptr);
}

attn_status attn_backend_to_device(attn_backend *backend, void *dst, const void *src, uint64_t bytes, attn_error *err) {
    char msg[ATTN_MSG_CAP] = "";
    attn_status st = backend->api->copy_to_device(backend->instance, dst, src, bytes, msg, sizeof msg);
    return st == ATTN_OK ? ATTN_OK : plugin_failure(backend, "copy_to_device", st, msg, sizeof msg, err);
}

attn_status attn_backend_to_host(attn_backend *backend, void *dst, const void *src, uint64_t bytes, attn_error *err) {
    char msg[ATTN_MSG_CAP] = "";
    attn_status st = backend->api->copy_to_host(backend->instance, dst, src, bytes, msg, sizeof msg);
    return st == ATTN_OK ? ATTN_OK : plugin_failure(backend, "copy_to_host", st, msg, sizeof msg, err);
}

attn_status attn_backend_synchronize(attn_backend *backend, attn_error *err) {
    char msg[ATTN_MSG_CAP] = "";
    attn_status st = backend->api->synchronize(backend->instance, msg, sizeof msg);
    return st == ATTN_OK ? ATTN_OK : plugin_failure(backend, "synchronize", st, msg, sizeof msg, err);
}
