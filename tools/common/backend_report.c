#include "backend_report.h"

void attn_tool_device_text(DLDevice device, char *out, size_t cap) {
    const char *name = NULL;
    switch (device.device_type) {
    case kDLCPU: name = "cpu"; break;
    case kDLCUDA: name = "cuda"; break;
    case kDLCUDAHost: name = "cuda-host"; break;
    case kDLCUDAManaged: name = "cuda-managed"; break;
    case kDLROCM: name = "rocm"; break;
    case kDLVulkan: name = "vulkan"; break;
    case kDLMetal: name = "metal"; break;
    case kDLOpenCL: name = "opencl"; break;
    default: break;
    }
    if (name)
        snprintf(out, cap, "%s:%d", name, device.device_id);
    else
        snprintf(out, cap, "device type %d:%d", (int)device.device_type, device.device_id);
}

int attn_tool_print_backend_entry(FILE *out, const attn_backend_spec *spec, const char *indent) {
    fprintf(out, "%s%s: %s\n", indent, spec->name, spec->plugin_path ? spec->plugin_path : spec->plugin);
    if (spec->plugin_path) return 1;
    /* Only an optional plugin can be missing: the config loader refuses a required one. */
    fprintf(out, "%s  NOT FOUND (optional): %s\n", indent, spec->resolve_error);
    return 0;
}

void attn_tool_print_backend(FILE *out, attn_backend *backend, const char *indent) {
    const attn_plugin_api *api = attn_backend_api(backend);
    uint32_t abi = attn_backend_abi_version(backend);
    char device[ATTN_ERROR_CAP + 16] = "unknown";
    DLDevice where;
    attn_error err = {0};
    if (attn_backend_device(backend, &where, &err) == ATTN_OK)
        attn_tool_device_text(where, device, sizeof device);
    else /* say so rather than guess cpu:0 */
        snprintf(device, sizeof device, "unknown (%s)", err.message);
    const char *version = api->version ? api->version : "(no version)";
    fprintf(out, "%splugin %s %s, ABI %u.%u, device %s\n", indent, api->name, version, ATTN_ABI_VERSION_MAJOR_OF(abi),
            ATTN_ABI_VERSION_MINOR_OF(abi), device);
    if (api->description && api->description[0]) fprintf(out, "%s%s\n", indent, api->description);
    char text[2048];
    if (attn_backend_describe(backend, text, sizeof text, &err) == ATTN_OK)
        fprintf(out, "%scapabilities: %s\n", indent, text);
    else
        fprintf(out, "%scapabilities: not described (%s)\n", indent, err.message);
}

void attn_tool_print_open_failure(FILE *out, attn_status status, const char *message, const char *indent) {
    if (status == ATTN_E_UNAVAILABLE)
        fprintf(out, "%sUNAVAILABLE on this machine: %s\n", indent, message);
    else
        fprintf(out, "%sFAILED to load (%s): %s\n", indent, attn_status_name(status), message);
}
