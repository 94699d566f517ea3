/* Device services of a CPU backend: host memory, memcpy, nothing to synchronise.
 * Header-only so each shipped CPU plugin compiles its own copy (plugins never link libattn).
 * Include once per plugin and point the table's entries at these functions. */
#ifndef ATTN_PLUGINS_CPU_DEVICE_H
#define ATTN_PLUGINS_CPU_DEVICE_H

#include <attn/plugin/attn_plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static attn_status cpu_device_of(void *backend, DLDevice *out, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)msg;
    (void)msg_cap;
    out->device_type = kDLCPU;
    out->device_id = 0;
    return ATTN_OK;
}

static attn_status cpu_alloc(void *backend, uint64_t bytes, void **out, char *msg, uint32_t msg_cap) {
    (void)backend;
    /* aligned_alloc wants a multiple of the alignment; zero-byte tensors still get a pointer. */
    uint64_t rounded = (bytes + 255u) / 256u * 256u;
    if (rounded == 0) rounded = 256;
    if (rounded < bytes || rounded > (uint64_t)SIZE_MAX) {
        snprintf(msg, msg_cap, "cannot allocate %llu bytes: size overflows", (unsigned long long)bytes);
        return ATTN_E_NOMEM;
    }
    *out = aligned_alloc(256, (size_t)rounded);
    if (!*out) {
        snprintf(msg, msg_cap, "out of host memory allocating %llu bytes", (unsigned long long)bytes);
        return ATTN_E_NOMEM;
    }
    return ATTN_OK;
}

static void cpu_free(void *backend, void *ptr) {
    (void)backend;
    free(ptr);
}

static attn_status cpu_copy(void *backend, void *dst, const void *src, uint64_t bytes, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)msg;
    (void)msg_cap;
    if (bytes) memcpy(dst, src, (size_t)bytes);
    return ATTN_OK;
}

static attn_status cpu_synchronize(void *backend, char *msg, uint32_t msg_cap) {
    (void)backend;
    (void)msg;
    (void)msg_cap;
    return ATTN_OK;
}

#define ATTN_CPU_DEVICE_SERVICES                                                                               \
    .alloc = cpu_alloc, .free = cpu_free, .copy_to_device = cpu_copy, .copy_to_host = cpu_copy, .synchronize = cpu_synchronize

#endif
