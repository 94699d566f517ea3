/* libFuzzer target: problem validation.  The bytes become every field of an attn_problem:
 * its struct_size, ranks, shapes, strides, dtypes, byte offsets, data addresses (never
 * dereferenced by validation: it only computes byte spans), flags and parameters, and the
 * bytes of a newer ABI's fields past today's struct. */
#include <attn/host/attn_host.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TENSORS 12
#define MAX_RANK 4

typedef struct byte_reader {
    const uint8_t *data;
    size_t size, at;
} byte_reader;

/* Reads n bytes (zero-filled past the end). */
static void take(byte_reader *r, void *out, size_t n) {
    memset(out, 0, n);
    size_t avail = r->at < r->size ? r->size - r->at : 0;
    memcpy(out, r->data + r->at, n < avail ? n : avail);
    r->at += n;
}

static int64_t take_i64(byte_reader *r) {
    int64_t v;
    take(r, &v, sizeof v);
    return v;
}

/* Small values are what reach deep into validation; one byte picks small or raw. */
static int64_t take_dim(byte_reader *r) {
    uint8_t mode;
    take(r, &mode, 1);
    if (mode & 1) return take_i64(r);
    return (int64_t)(mode >> 1) - 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    byte_reader r = {data, size, 0};
    /* The problem sits at the start of a buffer as long as any struct_size libattn reads (it
     * refuses sizes past its own plus 1024 bytes unread), as a caller built against newer
     * headers hands a longer struct: libattn may read every byte struct_size claims. */
    union {
        attn_problem problem;
        unsigned char bytes[sizeof(attn_problem) + 2048];
    } storage;
    memset(&storage, 0, sizeof storage);
    attn_problem p;
    memset(&p, 0, sizeof p);
    int64_t shapes[TENSORS][MAX_RANK], strides[TENSORS][MAX_RANK];
    DLTensor *tensors[TENSORS] = {&p.q, &p.k, &p.v, &p.o, &p.lse, &p.q_len,
                                  &p.kv_len, &p.doc_q, &p.doc_k, &p.prefix_len, &p.alibi_slopes, &p.synaptic_w};
    uint32_t struct_size;
    take(&r, &struct_size, sizeof struct_size);
    p.struct_size = (struct_size & 1) ? struct_size : (uint32_t)sizeof p;
    for (int t = 0; t < TENSORS; ++t) {
        DLTensor *tensor = tensors[t];
        uint8_t header[4];
        take(&r, header, sizeof header);
        if (t >= 4 && !(header[0] & 1)) continue; /* optional tensors: often absent */
        tensor->ndim = header[1] % (MAX_RANK + 1);
        tensor->dtype.code = header[2] % 6;
        tensor->dtype.bits = (uint8_t)(header[3] & 0x38);
        tensor->dtype.lanes = (header[0] & 2) ? 2 : 1;
        tensor->device.device_type = (header[0] & 4) ? kDLCUDA : kDLCPU;
        uintptr_t address = (uintptr_t)take_i64(&r);
        tensor->data = (void *)(address ? address : 0x1000);
        tensor->byte_offset = (header[0] & 8) ? (uint64_t)take_i64(&r) : 0;
        for (int d = 0; d < MAX_RANK; ++d) {
            shapes[t][d] = take_dim(&r);
            strides[t][d] = take_dim(&r);
        }
        tensor->shape = (header[0] & 16) ? NULL : shapes[t];
        tensor->strides = (header[0] & 32) ? NULL : strides[t];
    }
    int32_t ints[5];
    take(&r, ints, sizeof ints);
    p.causal = ints[0];
    p.window_left = ints[1];
    p.window_right = ints[2];
    p.modifier = ints[3];
    p.dropout_offset = (uint32_t)ints[4];
    take(&r, &p.softcap, sizeof p.softcap);
    take(&r, &p.synaptic_lambda, sizeof p.synaptic_lambda);
    take(&r, &p.synaptic_eps, sizeof p.synaptic_eps);
    take(&r, &p.synaptic_beta, sizeof p.synaptic_beta);
    take(&r, &p.scale, sizeof p.scale);
    take(&r, &p.dropout_p, sizeof p.dropout_p);
    uint8_t newer_fields;
    take(&r, &newer_fields, 1);
    if (newer_fields & 1) take(&r, storage.bytes + sizeof p, 16); /* set fields of a newer ABI */
    memcpy(&storage.problem, &p, sizeof p);
    attn_error err;
    if (attn_problem_validate(&storage.problem, &err) == ATTN_OK) {
        /* A valid problem has consistent shapes: the dims accessors must agree with them. */
        attn_dims dims = attn_problem_dims(&storage.problem);
        if (dims.q_heads % dims.kv_heads != 0) __builtin_trap();
        int32_t lengths[8] = {0};
        if (dims.batch <= 8) (void)attn_problem_validate_lengths(&storage.problem, lengths, lengths, lengths, &err);
    }
    return 0;
}
