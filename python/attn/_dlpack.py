"""Zero-copy views of any object that speaks DLPack (`__dlpack__` / `__dlpack_device__`).

A View keeps the exported capsule alive: the producer's capsule destructor (numpy, torch, cupy,
jax all have one) calls the DLManagedTensor's deleter when the capsule is collected, because the
capsule is never renamed to "used_dltensor".  So the data stays valid for as long as the View is
referenced, which is the whole libattn call, and nothing has to call a C function pointer here.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_int64
from typing import Any, Optional, Sequence, Tuple

from . import _lib

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype = ctypes.c_char_p
_get_name.argtypes = [ctypes.py_object]

_DTYPE_NAMES = {
    (_lib.KDL_FLOAT, 16): "float16",
    (_lib.KDL_FLOAT, 32): "float32",
    (_lib.KDL_FLOAT, 64): "float64",
    (_lib.KDL_BFLOAT, 16): "bfloat16",
    (_lib.KDL_INT, 8): "int8",
    (_lib.KDL_INT, 16): "int16",
    (_lib.KDL_INT, 32): "int32",
    (_lib.KDL_INT, 64): "int64",
    (_lib.KDL_UINT, 8): "uint8",
    (_lib.KDL_BOOL, 8): "bool",
}

# What a zero-element host tensor points at when its producer gives NULL (torch does): libattn
# reads a NULL data pointer as "absent", and a tensor with no elements is never read, but if
# anything did read it, it would read this buffer and not address 0.
_EMPTY = ctypes.create_string_buffer(256)

_DEVICE_NAMES = {_lib.KDL_CPU: "cpu", _lib.KDL_CUDA: "cuda", _lib.KDL_CUDA_HOST: "cuda_host"}


def device_name(device: Tuple[int, int]) -> str:
    kind = _DEVICE_NAMES.get(device[0], f"dlpack-device-{device[0]}")
    return kind if device[0] in (_lib.KDL_CPU, _lib.KDL_CUDA_HOST) else f"{kind}:{device[1]}"


def dlpack_device(obj: Any, argname: str) -> Tuple[int, int]:
    if not hasattr(obj, "__dlpack__") or not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"{argname}: expected a tensor that supports DLPack (__dlpack__), got {type(obj).__name__}")
    try:
        kind, index = obj.__dlpack_device__()
    except (ValueError, RuntimeError, BufferError) as e:  # e.g. torch's "meta" device has no DLPack form
        raise TypeError(f"{argname}: the tensor's device cannot be expressed in DLPack: {e}") from e
    return int(kind), int(index)


def _export(obj: Any, stream: Optional[int]) -> Any:
    kwargs = {} if stream is None else {"stream": stream}
    # DLPack >= 1.0 first: its capsule carries the read-only flag, which lets numpy export
    # read-only arrays (broadcasts, np.frombuffer); producers that predate it take no max_version.
    try:
        return obj.__dlpack__(max_version=(1, 0), **kwargs)
    except TypeError:
        return obj.__dlpack__(**kwargs)


class View:
    """One exported tensor: its DLTensor, read back as Python values, and the capsule that keeps
    the memory alive."""

    def __init__(self, obj: Any, argname: str, stream: Optional[int] = None) -> None:
        self.argname = argname
        self.obj = obj
        self.device = dlpack_device(obj, argname)
        try:
            self.capsule = _export(obj, stream)
        except (BufferError, RuntimeError, ValueError) as e:
            raise TypeError(f"{argname}: the tensor could not be exported through DLPack: {e}") from e
        name = _get_name(self.capsule)
        managed: Any
        if name == b"dltensor_versioned":
            managed = ctypes.cast(_get_pointer(self.capsule, name), POINTER(_lib.DLManagedTensorVersioned)).contents
            if managed.version.major != 1:
                raise TypeError(f"{argname}: DLPack {managed.version.major}.{managed.version.minor} is not supported (1.x is)")
            self.readonly = bool(managed.flags & _lib.DLPACK_FLAG_READ_ONLY)
        elif name == b"dltensor":
            managed = ctypes.cast(_get_pointer(self.capsule, name), POINTER(_lib.DLManagedTensor)).contents
            self.readonly = False
        else:
            raise TypeError(f"{argname}: __dlpack__ returned a capsule named {name!r}, not a DLPack tensor")
        t = managed.dl_tensor
        self.data = t.data or 0
        self.byte_offset = int(t.byte_offset)
        self.ndim = int(t.ndim)
        self.shape: Tuple[int, ...] = tuple(int(t.shape[i]) for i in range(self.ndim))
        if t.strides:
            self.strides: Tuple[int, ...] = tuple(int(t.strides[i]) for i in range(self.ndim))
        else:  # NULL strides mean compact row-major (DLPack < 1.2 allows it)
            strides, step = [], 1
            for extent in reversed(self.shape):
                strides.append(step)
                step *= max(extent, 1)
            self.strides = tuple(reversed(strides))
        if not self.data and 0 in self.shape and self.device[0] == _lib.KDL_CPU:
            self.data, self.byte_offset = ctypes.addressof(_EMPTY), 0
        self.dl_dtype = (int(t.dtype.code), int(t.dtype.bits), int(t.dtype.lanes))
        if self.dl_dtype[2] != 1:
            raise TypeError(f"{argname}: vector dtypes (lanes = {self.dl_dtype[2]}) are not supported")
        self.dtype = _DTYPE_NAMES.get(self.dl_dtype[:2], f"dlpack(code={self.dl_dtype[0]}, bits={self.dl_dtype[1]})")
        self._keep: list = []

    def dltensor(self, order: Optional[Sequence[int]] = None) -> _lib.DLTensor:
        """A DLTensor over the same memory, its axes taken in `order` (a permutation: how a BTHD
        tensor is handed over as the [B, H, T, D] view the ABI wants, without a copy)."""
        axes = list(order) if order is not None else list(range(self.ndim))
        shape = (c_int64 * len(axes))(*[self.shape[a] for a in axes])
        strides = (c_int64 * len(axes))(*[self.strides[a] for a in axes])
        self._keep.extend((shape, strides))  # the arrays must outlive the call that reads them
        out = _lib.DLTensor()
        out.data = self.data if self.data else None
        out.device = _lib.DLDevice(*self.device)
        out.ndim = len(axes)
        out.dtype = _lib.DLDataType(*self.dl_dtype)
        out.shape = ctypes.cast(shape, POINTER(c_int64))
        out.strides = ctypes.cast(strides, POINTER(c_int64))
        out.byte_offset = self.byte_offset
        return out
