"""ctypes declarations of libattn's host API, and the loading of the bundled libattn.

The structs mirror include/attn/plugin/attn_problem.h, attn_plugin.h and include/attn/host/*.h
field for field; tests/test_abi.py holds the sizes and offsets to the C headers' where a C
compiler is present.  Only what the Python layer calls is declared.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Optional

# ---- DLPack (dlpack.h) ---------------------------------------------------------------------


class DLDevice(Structure):
    _fields_ = [("device_type", c_int32), ("device_id", c_int32)]


class DLDataType(Structure):
    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class DLTensor(Structure):
    _fields_ = [
        ("data", c_void_p),
        ("device", DLDevice),
        ("ndim", c_int32),
        ("dtype", DLDataType),
        ("shape", POINTER(c_int64)),
        ("strides", POINTER(c_int64)),
        ("byte_offset", c_uint64),
    ]


class DLManagedTensor(Structure):
    pass


DLManagedTensor._fields_ = [
    ("dl_tensor", DLTensor),
    ("manager_ctx", c_void_p),
    ("deleter", ctypes.CFUNCTYPE(None, POINTER(DLManagedTensor))),
]


class DLPackVersion(Structure):
    _fields_ = [("major", c_uint32), ("minor", c_uint32)]


class DLManagedTensorVersioned(Structure):
    pass


DLManagedTensorVersioned._fields_ = [
    ("version", DLPackVersion),
    ("manager_ctx", c_void_p),
    ("deleter", ctypes.CFUNCTYPE(None, POINTER(DLManagedTensorVersioned))),
    ("flags", c_uint64),
    ("dl_tensor", DLTensor),
]

# DLDeviceType and DLDataTypeCode values used here.
KDL_CPU = 1
KDL_CUDA = 2
KDL_CUDA_HOST = 3
KDL_INT = 0
KDL_UINT = 1
KDL_FLOAT = 2
KDL_BFLOAT = 4
KDL_BOOL = 6
DLPACK_FLAG_READ_ONLY = 1

# ---- libattn types (attn_types.h, attn_plugin.h, attn_problem.h) ----------------------------

ATTN_OK = 0
ATTN_E_INVALID = 1
ATTN_E_UNSUPPORTED = 2
ATTN_E_NOT_APPLICABLE = 3
ATTN_E_UNAVAILABLE = 4
ATTN_E_NOMEM = 5
ATTN_E_DEVICE = 6
ATTN_E_LOAD = 7
ATTN_E_ABI = 8
ATTN_E_CONFIG = 9
ATTN_E_IO = 10
ATTN_E_INTERNAL = 11

ATTN_MOD_NONE = 0
ATTN_MOD_SOFTCAP = 1
ATTN_MOD_ALIBI = 2
ATTN_MOD_SYNAPTIC = 3

ATTN_ERROR_CAP = 1024

# Expressions (attn_expr.h, attn_expr_parse.h).
ATTN_EXPR_BOOL = 1
ATTN_EXPR_INT = 2
ATTN_EXPR_FLOAT = 3
ATTN_EXPR_MASK = 1
ATTN_EXPR_SCORE = 2
ATTN_EXPR_MAX_ARITY = 4  # the largest rank of an aux tensor
ATTN_PROBLEM_MAX_AUX = 16


class AttnOption(Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]


class AttnPluginApiHead(Structure):
    """The first fields of attn_plugin_api (attn_plugin.h), the ones that are text; the function
    table behind them is libattn's to call, never Python's."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("abi_version", c_uint32),
        ("name", c_char_p),
        ("version", c_char_p),
        ("description", c_char_p),
    ]


class AttnExprAux(Structure):
    """attn_expr_aux: an aux tensor an expression may read, as declared to attn_expr_parse."""

    _fields_ = [("name", c_char_p), ("type", c_int32), ("rank", c_int32)]


class AttnExpr(Structure):
    """attn_expr, a parsed expression.  Python only holds pointers to those libattn allocates
    (attn_expr_parse / attn_expr_free); the mirror is here for tests/test_abi.py."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("node_count", c_uint32),
        ("nodes", c_void_p),
        ("text", c_char_p),
        ("aux_count", c_uint32),
        ("aux", POINTER(AttnExprAux)),
    ]


class AttnProblem(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("reserved0", c_uint32),
        ("q", DLTensor),
        ("k", DLTensor),
        ("v", DLTensor),
        ("o", DLTensor),
        ("lse", DLTensor),
        ("q_len", DLTensor),
        ("kv_len", DLTensor),
        ("doc_q", DLTensor),
        ("doc_k", DLTensor),
        ("prefix_len", DLTensor),
        ("causal", c_int32),
        ("window_left", c_int32),
        ("window_right", c_int32),
        ("modifier", c_int32),
        ("softcap", c_float),
        ("synaptic_lambda", c_float),
        ("synaptic_eps", c_float),
        ("synaptic_beta", c_float),
        ("alibi_slopes", DLTensor),
        ("synaptic_w", DLTensor),
        ("scale", c_double),
        ("dropout_p", c_float),
        ("dropout_offset", c_uint32),
        ("dropout_seed", c_uint64),
        ("stream", c_uint64),
        # ABI 1.2: programmable masks and scores (SPEC.md "Expressions").
        ("mask_mod", c_void_p),  # const attn_expr *
        ("score_mod", c_void_p),  # const attn_expr *
        ("aux", POINTER(DLTensor)),
        ("aux_names", POINTER(c_char_p)),
        ("aux_count", c_uint32),
        ("reserved1", c_uint32),
    ]


class AttnError(Structure):  # attn_error; the Python exception of that name is in _errors.py
    _fields_ = [("status", c_int32), ("message", c_char * ATTN_ERROR_CAP)]

    def text(self) -> str:
        return self.message.decode("utf-8", "replace")


class AttnBackendSpec(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("plugin", c_char_p),
        ("plugin_path", c_char_p),
        ("resolve_error", c_char_p),
        ("optional", c_int32),
        ("options", POINTER(AttnOption)),
        ("option_count", c_uint32),
        ("line", c_int32),
    ]


class AttnConfig(Structure):
    _fields_ = [
        ("source", c_char_p),
        ("backends", POINTER(AttnBackendSpec)),
        ("backend_count", c_uint32),
        ("priority", POINTER(c_char_p)),
        ("priority_count", c_uint32),
        ("golden", POINTER(AttnBackendSpec)),
        ("baseline", POINTER(AttnBackendSpec)),
    ]


class AttnSelectionEntry(Structure):
    _fields_ = [
        ("name", c_char * 128),
        ("tried", c_int32),
        ("status", c_int32),
        ("reason", c_char * ATTN_ERROR_CAP),
    ]


class AttnSelectionReport(Structure):
    _fields_ = [("entries", POINTER(AttnSelectionEntry)), ("count", c_uint32), ("chosen", c_int32)]


# ---- Loading ---------------------------------------------------------------------------------

_HERE = os.path.dirname(os.path.abspath(__file__))
# Where scikit-build-core's install step puts libattn (pyproject.toml: wheel.install-dir).
BUNDLED_LIBDIR = os.path.join(_HERE, "_lib", "lib")


def _find_library() -> str:
    for name in ("libattn.so.0", "libattn.so"):
        path = os.path.join(BUNDLED_LIBDIR, name)
        if os.path.isfile(path):
            return path
    raise ImportError(
        f"attn: the bundled libattn was not found in {BUNDLED_LIBDIR}; "
        "install the package with `pip install ./python` from the repository (it builds libattn); "
        "importing attn from the source folder python/attn finds no libattn"
    )


def _declare(lib: ctypes.CDLL) -> None:
    err = POINTER(AttnError)
    backend = c_void_p
    sig = {
        "attn_status_name": (c_char_p, [c_int32]),
        "attn_default_config_text": (c_char_p, []),
        "attn_config_parse": (c_int32, [c_char_p, c_size_t, c_char_p, c_char_p, POINTER(POINTER(AttnConfig)), err]),
        "attn_config_load": (c_int32, [c_char_p, POINTER(POINTER(AttnConfig)), err]),
        "attn_config_free": (None, [POINTER(AttnConfig)]),
        "attn_config_selection_order": (c_uint32, [POINTER(AttnConfig), POINTER(c_uint32), c_uint32]),
        "attn_backend_open": (c_int32, [c_char_p, c_char_p, POINTER(AttnOption), c_uint32, POINTER(backend), err]),
        "attn_backend_close": (None, [backend]),
        "attn_backend_name": (c_char_p, [backend]),
        "attn_backend_plugin_path": (c_char_p, [backend]),
        "attn_backend_abi_version": (c_uint32, [backend]),
        "attn_backend_api": (POINTER(AttnPluginApiHead), [backend]),
        "attn_backend_describe": (c_int32, [backend, c_char_p, c_size_t, err]),
        "attn_backend_device": (c_int32, [backend, POINTER(DLDevice), err]),
        "attn_backend_check": (c_int32, [backend, POINTER(AttnProblem), err]),
        "attn_backend_run": (c_int32, [backend, POINTER(AttnProblem), err]),
        "attn_problem_validate": (c_int32, [POINTER(AttnProblem), err]),
        "attn_problem_validate_lengths": (
            c_int32,
            [POINTER(AttnProblem), POINTER(c_int32), POINTER(c_int32), POINTER(c_int32), err],
        ),
        "attn_select": (
            c_int32,
            [
                POINTER(backend),
                c_uint32,
                c_char_p,
                POINTER(AttnProblem),
                POINTER(backend),
                POINTER(AttnSelectionReport),
                err,
            ],
        ),
        "attn_selection_report_free": (None, [POINTER(AttnSelectionReport)]),
        "attn_expr_parse": (c_int32, [c_char_p, c_int32, POINTER(AttnExprAux), c_uint32, POINTER(c_void_p), err]),
        "attn_expr_free": (None, [c_void_p]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


_lib: Optional[ctypes.CDLL] = None


def lib() -> ctypes.CDLL:
    """libattn, loaded once.  RTLD_LOCAL (ctypes' default): its symbols stay out of the process's
    global namespace, as for any plugin it loads itself."""
    global _lib
    if _lib is None:
        path = _find_library()
        loaded = ctypes.CDLL(path)
        _declare(loaded)
        _lib = loaded
    return _lib


def library_path() -> str:
    return _find_library()


def status_name(status: int) -> str:
    name = lib().attn_status_name(status)
    return name.decode() if name else f"status {status}"
