/* The one CPython interpreter of the process: found from a configured executable, loaded,
 * started lazily (the first create(), never before a fork), shared by every instance. */
#ifndef ATTN_PYTHON_HOST_RUNTIME_H
#define ATTN_PYTHON_HOST_RUNTIME_H

#include <attn/plugin/attn_plugin.h>

#include "py_api.h"

/* Makes the interpreter usable: on the first call, runs `python` (a name looked up on PATH or a
 * path) to learn where its shared library is, dlopens that library, resolves `py`, starts the
 * interpreter and releases the GIL.  Later calls with the same `python` return at once.  When the
 * process already runs Python (the host is a Python program), that interpreter is used and
 * `python` is ignored.  ATTN_E_UNAVAILABLE with the reason when there is no usable interpreter.
 * Thread-safe. */
attn_status py_runtime_acquire(const char *python, char *msg, uint32_t msg_cap);

/* One line saying which interpreter runs, e.g. "CPython 3.11.7 (/usr/bin/python3, libpython3.11.so.1.0)". */
const char *py_runtime_origin(void);

/* A function of the glue module (host_glue.py), borrowed.  Only after py_runtime_acquire
 * succeeded, with the GIL held. */
PyObject *py_runtime_glue(const char *name);

/* The pending Python exception as "Type: message (at file:line in function)", cut to msg_cap,
 * after `what` and ": "; clears it.  With the GIL held. */
void py_error_message(const char *what, char *msg, uint32_t msg_cap);

/* A Python str as a C string into buf (cut to cap); 0 on success.  With the GIL held. */
int py_string_copy(PyObject *str, char *buf, uint32_t cap);

#endif
