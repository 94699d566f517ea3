/* libFuzzer target: the YAML config parser.  Any bytes must give ATTN_OK or a clean error,
 * never a crash, a leak or undefined behaviour. */
#include <attn/host/attn_config.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    attn_config *config = NULL;
    attn_error err;
    /* A config dir that does not exist: relative plugin paths resolve to nothing. */
    if (attn_config_parse((const char *)data, size, "<fuzz>", "/nonexistent-attn-fuzz", &config, &err) == ATTN_OK)
        attn_config_free(config);
    return 0;
}
