/* Status names and the error-reporting helper every core function uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn/host/attn_host.h"
#include "internal.h"

attn_status attn_error_set(attn_error *err, attn_status status, const char *format, ...) {
    if (err) {
        err->status = status;
        va_list args;
        va_start(args, format);
        vsnprintf(err->message, sizeof err->message, format, args);
        va_end(args);
    }
    return status;
}

const char *attn_status_name(attn_status status) {
    switch (status) {
    case ATTN_OK: return "ok";
    case ATTN_E_INVALID: return "invalid";
    case ATTN_E_UNSUPPORTED: return "unsupported";
    case ATTN_E_NOT_APPLICABLE: return "not applicable";
    case ATTN_E_UNAVAILABLE: return "unavailable";
    case ATTN_E_NOMEM: return "out of memory";
    case ATTN_E_DEVICE: return "device error";
    case ATTN_E_LOAD: return "load error";
    case ATTN_E_ABI: return "ABI mismatch";
    case ATTN_E_CONFIG: return "config error";
    case ATTN_E_IO: return "I/O error";
    case ATTN_E_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

/* $ATTN_LOG picks how much of the plugins' logging reaches stderr; read once per call,
 * which is cheap next to a log line and keeps the core free of mutable globals. */
int32_t attn_log_threshold(void) {
    const char *level = getenv("ATTN_LOG");
    if (!level) return ATTN_LOG_WARN;
    if (!strcmp(level, "error")) return ATTN_LOG_ERROR;
    if (!strcmp(level, "info")) return ATTN_LOG_INFO;
    if (!strcmp(level, "debug")) return ATTN_LOG_DEBUG;
    return ATTN_LOG_WARN;
}
