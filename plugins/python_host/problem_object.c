/* Building the Python problem (problem_object.h) and exporting its tensors through DLPack.
 *
 * Each present tensor becomes a description plus `export`, a C function bound to a capsule that
 * holds a copy of its DLTensor.  Tensor.__dlpack__ (host_glue.py) calls export for every
 * consumer, so numpy.from_dlpack and torch.from_dlpack may be called on one tensor any number of
 * times: a DLPack capsule can be consumed only once.  A consumer that asks for DLPack >= 1.0
 * (max_version=(1, 0)) gets a "dltensor_versioned" capsule whose flags mark inputs read-only
 * and leave O and LSE writable; others get the legacy "dltensor" capsule.  Debian's dlpack.h
 * (0.6) predates the versioned struct, so its 1.0 layout is spelled out here. */
#include "problem_object.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_CAPSULE "attn_python_host.tensor"
#define MAX_DIMS 4

/* DLPack 1.0's DLManagedTensorVersioned, field for field. */
typedef struct dl_version {
    uint32_t major, minor;
} dl_version;
typedef struct dl_managed_versioned {
    dl_version version;
    void *manager_ctx;
    void (*deleter)(struct dl_managed_versioned *self);
    uint64_t flags;
    DLTensor dl_tensor;
} dl_managed_versioned;
#define DL_FLAG_READ_ONLY (UINT64_C(1) << 0)

typedef struct tensor_spec {
    DLTensor t; /* data already advanced by byte_offset, which is 0 here */
    int64_t shape[MAX_DIMS], strides[MAX_DIMS];
    int writable;
} tensor_spec;

/* One export: the managed tensor and the shape/strides it points to, freed by its deleter. */
typedef struct legacy_block {
    DLManagedTensor m;
    int64_t shape[MAX_DIMS], strides[MAX_DIMS];
} legacy_block;
typedef struct versioned_block {
    dl_managed_versioned m;
    int64_t shape[MAX_DIMS], strides[MAX_DIMS];
} versioned_block;

static void legacy_deleter(DLManagedTensor *self) { free(self->manager_ctx); }
static void versioned_deleter(dl_managed_versioned *self) { free(self->manager_ctx); }

/* A capsule that nobody consumed (still named "dltensor") owns its tensor (DLPack's rule). */
static void legacy_capsule_destructor(PyObject *capsule) {
    if (!py.PyCapsule_IsValid(capsule, "dltensor")) return;
    DLManagedTensor *m = py.PyCapsule_GetPointer(capsule, "dltensor");
    if (m && m->deleter) m->deleter(m);
}
static void versioned_capsule_destructor(PyObject *capsule) {
    if (!py.PyCapsule_IsValid(capsule, "dltensor_versioned")) return;
    dl_managed_versioned *m = py.PyCapsule_GetPointer(capsule, "dltensor_versioned");
    if (m && m->deleter) m->deleter(m);
}

static void spec_capsule_destructor(PyObject *capsule) {
    free(py.PyCapsule_GetPointer(capsule, SPEC_CAPSULE));
}

/* export(mode): bit 0 asks for a versioned capsule, bit 1 for unsigned integers of the
 * element's width (Tensor.as_uint). */
static PyObject *tensor_export(PyObject *self, PyObject *arg) {
    const tensor_spec *spec = py.PyCapsule_GetPointer(self, SPEC_CAPSULE);
    if (!spec) return NULL;
    long mode = py.PyLong_AsLong(arg);
    if (mode == -1 && py.PyErr_Occurred()) return NULL;
    DLTensor t = spec->t;
    if (mode & 2) t.dtype.code = kDLUInt;
    if (mode & 1) {
        versioned_block *b = calloc(1, sizeof *b);
        if (!b) {
            py.PyErr_SetString(*py.exc_runtime, "python_host: out of memory exporting a tensor");
            return NULL;
        }
        memcpy(b->shape, spec->shape, sizeof b->shape);
        memcpy(b->strides, spec->strides, sizeof b->strides);
        b->m.version.major = 1;
        b->m.version.minor = 0;
        b->m.manager_ctx = b;
        b->m.deleter = versioned_deleter;
        b->m.flags = spec->writable ? 0 : DL_FLAG_READ_ONLY;
        b->m.dl_tensor = t;
        b->m.dl_tensor.shape = b->shape;
        b->m.dl_tensor.strides = b->strides;
        PyObject *capsule = py.PyCapsule_New(&b->m, "dltensor_versioned", versioned_capsule_destructor);
        if (!capsule) free(b);
        return capsule;
    }
    legacy_block *b = calloc(1, sizeof *b);
    if (!b) {
        py.PyErr_SetString(*py.exc_runtime, "python_host: out of memory exporting a tensor");
        return NULL;
    }
    memcpy(b->shape, spec->shape, sizeof b->shape);
    memcpy(b->strides, spec->strides, sizeof b->strides);
    b->m.manager_ctx = b;
    b->m.deleter = legacy_deleter;
    b->m.dl_tensor = t;
    b->m.dl_tensor.shape = b->shape;
    b->m.dl_tensor.strides = b->strides;
    PyObject *capsule = py.PyCapsule_New(&b->m, "dltensor", legacy_capsule_destructor);
    if (!capsule) free(b);
    return capsule;
}

static PyMethodDef export_def = {"export", tensor_export, PY_METH_O,
                                 "export(mode): a DLPack capsule of this tensor (bit 0: versioned, bit 1: as uint)"};

/* Stores `value` (a new reference, or NULL after a failure) under `key`; -1 on failure. */
static int put(PyObject *dict, const char *key, PyObject *value) {
    if (!value) return -1;
    int r = py.PyDict_SetItemString(dict, key, value);
    py.Py_DecRef(value);
    return r;
}

static const char *dtype_name(DLDataType d) {
    if (d.lanes != 1) return "vector";
    if (d.code == kDLFloat && d.bits == 32) return "float32";
    if (d.code == kDLFloat && d.bits == 16) return "float16";
    if (d.code == kDLFloat && d.bits == 64) return "float64";
    if (d.code == kDLBfloat && d.bits == 16) return "bfloat16";
    if (d.code == kDLInt && d.bits == 32) return "int32";
    if (d.code == kDLInt && d.bits == 64) return "int64";
    return "other";
}

static PyObject *int_list(const int64_t *values, int n) {
    PyObject *list = py.PyList_New(n);
    if (!list) return NULL;
    for (int d = 0; d < n; ++d) {
        PyObject *item = py.PyLong_FromLongLong((long long)values[d]);
        if (!item || py.PyList_SetItem(list, d, item) != 0) { /* SetItem steals item, even on failure */
            py.Py_DecRef(list);
            return NULL;
        }
    }
    return list;
}

/* The description of one tensor, or None when absent. */
static PyObject *tensor_fields(const DLTensor *t, int writable) {
    if (!attn_tensor_present(t)) {
        py.Py_IncRef(py.none);
        return py.none;
    }
    if (t->ndim < 0 || t->ndim > MAX_DIMS) {
        py.PyErr_SetString(*py.exc_runtime, "python_host: a tensor with more than 4 dimensions");
        return NULL;
    }
    tensor_spec *spec = calloc(1, sizeof *spec);
    if (!spec) {
        py.PyErr_SetString(*py.exc_runtime, "python_host: out of memory describing a tensor");
        return NULL;
    }
    spec->t = *t;
    spec->t.data = (char *)t->data + t->byte_offset; /* CPU memory: fold the offset into the pointer */
    spec->t.byte_offset = 0;
    for (int d = 0; d < t->ndim; ++d) {
        spec->shape[d] = t->shape[d];
        spec->strides[d] = t->strides[d];
    }
    spec->t.shape = spec->shape;
    spec->t.strides = spec->strides;
    spec->writable = writable;
    PyObject *capsule = py.PyCapsule_New(spec, SPEC_CAPSULE, spec_capsule_destructor);
    if (!capsule) {
        free(spec);
        return NULL;
    }
    PyObject *export = py.PyCFunction_NewEx(&export_def, capsule, NULL);
    py.Py_DecRef(capsule); /* the function holds it */
    PyObject *dict = py.PyDict_New();
    if (!export || !dict || put(dict, "export", export) || put(dict, "shape", int_list(spec->shape, t->ndim)) ||
        put(dict, "strides", int_list(spec->strides, t->ndim)) ||
        put(dict, "dtype", py.PyUnicode_FromString(dtype_name(t->dtype))) ||
        put(dict, "writable", py.PyBool_FromLong(writable))) {
        if (dict) py.Py_DecRef(dict);
        return NULL;
    }
    return dict;
}

static const char *modifier_name(int32_t m) {
    switch (m) {
    case ATTN_MOD_NONE: return "none";
    case ATTN_MOD_SOFTCAP: return "softcap";
    case ATTN_MOD_ALIBI: return "alibi";
    case ATTN_MOD_SYNAPTIC: return "synaptic";
    default: return "unknown";
    }
}

PyObject *problem_fields(const attn_problem *p) {
    PyObject *d = py.PyDict_New();
    if (!d) return NULL;
    struct {
        const char *name;
        const DLTensor *t;
        int writable;
    } tensors[] = {
        {"q", &p->q, 0},           {"k", &p->k, 0},           {"v", &p->v, 0},
        {"o", &p->o, 1},           {"lse", &p->lse, 1},       {"q_len", &p->q_len, 0},
        {"kv_len", &p->kv_len, 0}, {"doc_q", &p->doc_q, 0},   {"doc_k", &p->doc_k, 0},
        {"prefix_len", &p->prefix_len, 0}, {"alibi_slopes", &p->alibi_slopes, 0}, {"synaptic_w", &p->synaptic_w, 0},
    };
    for (size_t n = 0; n < sizeof tensors / sizeof tensors[0]; ++n)
        if (put(d, tensors[n].name, tensor_fields(tensors[n].t, tensors[n].writable))) goto fail;
    /* The sizes, so that a module can refuse before it converts a tensor. */
    int64_t D = p->q.shape[3];
    if (put(d, "dtype", py.PyUnicode_FromString(dtype_name(p->q.dtype))) ||
        put(d, "B", py.PyLong_FromLongLong(p->q.shape[0])) || put(d, "Hq", py.PyLong_FromLongLong(p->q.shape[1])) ||
        put(d, "Hkv", py.PyLong_FromLongLong(p->k.shape[1])) || put(d, "Tq", py.PyLong_FromLongLong(p->q.shape[2])) ||
        put(d, "Tk", py.PyLong_FromLongLong(p->k.shape[2])) || put(d, "D", py.PyLong_FromLongLong(D)) ||
        put(d, "Dv", py.PyLong_FromLongLong(p->v.shape[3])))
        goto fail;
    /* scale: the value to use (SPEC's default 1/sqrt(D) resolved), so no module gets it wrong. */
    double scale = p->scale != 0.0 ? p->scale : 1.0 / sqrt((double)(D > 0 ? D : 1));
    if (put(d, "causal", py.PyBool_FromLong(p->causal)) ||
        put(d, "window_left", py.PyLong_FromLongLong(p->window_left)) ||
        put(d, "window_right", py.PyLong_FromLongLong(p->window_right)) ||
        put(d, "modifier", py.PyUnicode_FromString(modifier_name(p->modifier))) ||
        put(d, "softcap", py.PyFloat_FromDouble(p->softcap)) ||
        put(d, "synaptic_lambda", py.PyFloat_FromDouble(p->synaptic_lambda)) ||
        put(d, "synaptic_eps", py.PyFloat_FromDouble(p->synaptic_eps)) ||
        put(d, "synaptic_beta", py.PyFloat_FromDouble(p->synaptic_beta)) ||
        put(d, "scale", py.PyFloat_FromDouble(scale)) || put(d, "dropout_p", py.PyFloat_FromDouble(p->dropout_p)) ||
        put(d, "dropout_seed", py.PyLong_FromUnsignedLongLong(p->dropout_seed)) ||
        put(d, "dropout_offset", py.PyLong_FromLongLong(p->dropout_offset)) ||
        put(d, "stream", py.PyLong_FromUnsignedLongLong(p->stream)))
        goto fail;
    return d;
fail:
    py.Py_DecRef(d);
    return NULL;
}
