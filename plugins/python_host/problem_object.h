/* An attn_problem as Python sees it (README.md, "The problem"). */
#ifndef ATTN_PYTHON_HOST_PROBLEM_OBJECT_H
#define ATTN_PYTHON_HOST_PROBLEM_OBJECT_H

#include <attn/plugin/attn_plugin.h>

#include "py_api.h"

/* A new dict with every field of `p`: scalars as Python numbers and strings, each present tensor
 * as {"export", "shape", "strides", "dtype", "writable"} (host_glue.py's Tensor wraps it), each
 * absent one as None.  NULL with a Python exception set on failure.  With the GIL held.  The
 * tensors' data stays the host's: valid during the call only. */
PyObject *problem_fields(const attn_problem *p);

#endif
