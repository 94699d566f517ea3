/* The few CPython C-API functions python_host calls, resolved with dlsym from the interpreter's
 * shared library at create() time.
 *
 * Why a table instead of linking libpython: the plugin is built once and must run under
 * whichever CPython has the packages a backend needs (Debian's 3.11 in CI, Ubuntu's 3.12 with
 * PyTorch on the GPU machine, a virtualenv of either).  Linking one libpython3.X.so at build
 * time would tie the .so to that minor version; every function below is part of CPython's
 * stable ABI (PEP 384) with the same signature from 3.9 to 3.13, so one build serves them all.
 * PyUnicode_AsUTF8AndSize only joined the stable ABI in 3.10: strings are read through
 * PyUnicode_AsUTF8String + PyBytes_AsString, which every version has.  Py_SetProgramName is
 * deprecated since 3.11 but still present in 3.13; it is what makes an embedded interpreter
 * see the virtualenv of the configured executable (python_runtime.c).
 *
 * No CPython header is included: the types below are the opaque handles and the two plain
 * structs (PyMethodDef, the GIL state) whose layout the stable ABI fixes. */
#ifndef ATTN_PYTHON_HOST_PY_API_H
#define ATTN_PYTHON_HOST_PY_API_H

#include <stddef.h>
#include <sys/types.h>
#include <wchar.h>

typedef struct _object PyObject;
typedef ssize_t Py_ssize_t;
typedef int PyGILState_STATE; /* a C enum in CPython: int-sized */
typedef PyObject *(*PyCFunction)(PyObject *self, PyObject *arg);
typedef struct PyMethodDef {
    const char *ml_name;
    PyCFunction ml_meth;
    int ml_flags;
    const char *ml_doc;
} PyMethodDef;
#define PY_METH_O 0x0008
typedef void (*PyCapsule_Destructor)(PyObject *capsule);

/* X(return type, name, parameter list) for every function of the table. */
#define PY_API_FUNCTIONS(X)                                                                       \
    X(const char *, Py_GetVersion, (void))                                                        \
    X(int, Py_IsInitialized, (void))                                                              \
    X(void, Py_InitializeEx, (int))                                                               \
    X(void, Py_SetProgramName, (const wchar_t *))                                                 \
    X(wchar_t *, Py_DecodeLocale, (const char *, size_t *))                                       \
    X(PyGILState_STATE, PyGILState_Ensure, (void))                                                \
    X(void, PyGILState_Release, (PyGILState_STATE))                                               \
    X(void *, PyEval_SaveThread, (void))                                                          \
    X(PyObject *, PyImport_ImportModule, (const char *))                                          \
    X(PyObject *, PyObject_GetAttrString, (PyObject *, const char *))                             \
    X(PyObject *, PyObject_CallFunctionObjArgs, (PyObject *, ...))                                \
    X(PyObject *, PyObject_Str, (PyObject *))                                                     \
    X(PyObject *, PyCFunction_NewEx, (PyMethodDef *, PyObject *, PyObject *))                     \
    X(PyObject *, PyCapsule_New, (void *, const char *, PyCapsule_Destructor))                    \
    X(void *, PyCapsule_GetPointer, (PyObject *, const char *))                                   \
    X(int, PyCapsule_IsValid, (PyObject *, const char *))                                         \
    X(PyObject *, PyUnicode_FromString, (const char *))                                           \
    X(PyObject *, PyUnicode_AsUTF8String, (PyObject *))                                           \
    X(char *, PyBytes_AsString, (PyObject *))                                                     \
    X(PyObject *, PyLong_FromLongLong, (long long))                                               \
    X(PyObject *, PyLong_FromUnsignedLongLong, (unsigned long long))                              \
    X(long, PyLong_AsLong, (PyObject *))                                                          \
    X(PyObject *, PyFloat_FromDouble, (double))                                                   \
    X(PyObject *, PyBool_FromLong, (long))                                                        \
    X(PyObject *, PyDict_New, (void))                                                             \
    X(int, PyDict_SetItemString, (PyObject *, const char *, PyObject *))                          \
    X(PyObject *, PyDict_GetItemString, (PyObject *, const char *))                               \
    X(PyObject *, PyList_New, (Py_ssize_t))                                                       \
    X(int, PyList_SetItem, (PyObject *, Py_ssize_t, PyObject *))                                  \
    X(int, PyList_Insert, (PyObject *, Py_ssize_t, PyObject *))                                   \
    X(PyObject *, PySys_GetObject, (const char *))                                                \
    X(PyObject *, PyErr_Occurred, (void))                                                         \
    X(void, PyErr_Fetch, (PyObject **, PyObject **, PyObject **))                                 \
    X(void, PyErr_NormalizeException, (PyObject **, PyObject **, PyObject **))                    \
    X(void, PyErr_Clear, (void))                                                                  \
    X(void, PyErr_SetString, (PyObject *, const char *))                                          \
    X(void, Py_IncRef, (PyObject *))                                                              \
    X(void, Py_DecRef, (PyObject *))

#define PY_API_FIELD(ret, name, params) ret(*name) params;
typedef struct py_api {
    PY_API_FUNCTIONS(PY_API_FIELD)
    PyObject *none;         /* Py_None (the data symbol _Py_NoneStruct) */
    PyObject **exc_runtime; /* PyExc_RuntimeError, a data symbol holding the type */
} py_api;
#undef PY_API_FIELD

/* The process's one table: filled once by py_runtime_acquire (python_runtime.c), read-only after.
 * Hidden like everything in the plugin but its entry point. */
extern py_api py;

#endif
