#include "plugin_report.h"

void device_text(DLDevice device, char *out, size_t cap) {
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

void print_backend(FILE *out, attn_backend *backend, const char *indent) {
    const attn_plugin_api *api = attn_backend_api(backend);
    uint32_t abi = attn_backend_abi_version(backend);
    char device[ATTN_ERROR_CAP + 16] = "unknown";
    DLDevice where;
    attn_error err = {0};
    if (attn_backend_device(backend, &where, &err) == ATTN_OK)
        device_text(where, device, sizeof device);
    else
        snprintf(device, sizeof device, "unknown (%s)", err.message);
    fprintf(out, "%splugin %s %s, ABI %u.%u, device %s\n", indent, api->name, api->version ? api->version : "(no version)",
            ATTN_ABI_VERSION_MAJOR_OF(abi), ATTN_ABI_VERSION_MINOR_OF(abi), device);
    if (api->description && api->description[0]) fprintf(out, "%s%s\n", indent, api->description);
    char text[2048];
    if (attn_backend_describe(backend, text, sizeof text, &err) == ATTN_OK)
        fprintf(out, "%scapabilities: %s\n", indent, text);
    else
        fprintf(out, "%scapabilities: not described (%s)\n", indent, err.message);
}

void print_open_failure(FILE *out, attn_status status, const char *message, const char *indent) {
    if (status == ATTN_E_UNAVAILABLE)
        fprintf(out, "%sUNAVAILABLE on this machine: %s\n", indent, message);
    else
        fprintf(out, "%sFAILED to load (%s): %s\n", indent, attn_status_name(status), message);
}
