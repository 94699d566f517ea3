"""The array libraries outputs are allocated with: the inputs' own (torch in, torch out).

Only libraries already imported by the caller are looked at, so `import attn` never imports
torch or numpy itself.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Sequence, Tuple

SUPPORTED = "torch.Tensor or numpy.ndarray"


class Library:
    name = ""

    def owns(self, obj: Any) -> bool:
        raise NotImplementedError

    def empty(self, like: Any, shape: Sequence[int], dtype: str) -> Any:
        raise NotImplementedError

    def readable(self, obj: Any, argname: str) -> Any:
        """The object whose memory libattn reads (the same memory, no copy)."""
        return obj

    def asarray(self, like: Any, values: Any, dtype: str) -> Any:
        """`values` (a sequence, or an array of any supported library) as a compact array of
        `dtype` on `like`'s device; an array that already is one is returned as is."""
        raise NotImplementedError

    def stream(self, obj: Any) -> Tuple[Optional[int], int]:
        """(the stream argument for __dlpack__, the cudaStream_t for attn_problem.stream)."""
        return None, 0


class _Torch(Library):
    name = "torch"

    def owns(self, obj: Any) -> bool:
        torch = sys.modules.get("torch")
        return torch is not None and isinstance(obj, torch.Tensor)

    def _dtype(self, dtype: str) -> Any:
        import torch

        return getattr(torch, dtype)

    def readable(self, obj: Any, argname: str) -> Any:
        # There is no backward yet: a gradient that silently stopped here would be wrong, so a
        # tensor that wants one is refused while autograd is recording.  Under torch.no_grad()
        # nobody asks for a gradient, and the same memory is read through a detached alias.
        if obj.requires_grad:
            import torch

            if torch.is_grad_enabled():
                raise NotImplementedError(
                    f"{argname}: requires grad, but attn.attention has no backward yet; "
                    "call it under torch.no_grad() or pass tensors without requires_grad"
                )
            return obj.detach()
        return obj

    def empty(self, like: Any, shape: Sequence[int], dtype: str) -> Any:
        import torch

        return torch.empty(tuple(shape), dtype=self._dtype(dtype), device=like.device)

    def asarray(self, like: Any, values: Any, dtype: str) -> Any:
        import torch

        want = self._dtype(dtype)
        if isinstance(values, torch.Tensor):
            t = values.detach()  # auxiliary inputs (lengths, ids, slopes, weights) take no gradient
            if t.dtype == want and t.device == like.device:
                return t
            return t.to(device=like.device, dtype=want)
        return torch.as_tensor(_plain(values), dtype=want, device=like.device)

    def stream(self, obj: Any) -> Tuple[Optional[int], int]:
        if obj.device.type != "cuda":
            return None, 0
        import torch

        handle = int(torch.cuda.current_stream(obj.device).cuda_stream)
        # DLPack spells the legacy default stream 1 (0 is ambiguous there); the ABI wants the
        # cudaStream_t itself, where the legacy default stream is 0.
        return (handle if handle != 0 else 1), handle


class _Numpy(Library):
    name = "numpy"

    def owns(self, obj: Any) -> bool:
        np = sys.modules.get("numpy")
        return np is not None and isinstance(obj, np.ndarray)

    def empty(self, like: Any, shape: Sequence[int], dtype: str) -> Any:
        import numpy as np

        return np.empty(tuple(shape), dtype=dtype)

    def asarray(self, like: Any, values: Any, dtype: str) -> Any:
        import numpy as np

        if hasattr(values, "__dlpack__") and not isinstance(values, np.ndarray):
            values = _plain(values)
        return np.ascontiguousarray(values, dtype=dtype)


def _plain(values: Any) -> Any:
    """A tensor of another library as nested Python lists (auxiliary inputs are small)."""
    if hasattr(values, "tolist") and not isinstance(values, (list, tuple)):
        return values.tolist()
    return values


_LIBRARIES = (_Torch(), _Numpy())


def library_of(obj: Any, argname: str) -> Library:
    for library in _LIBRARIES:
        if library.owns(obj):
            return library
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if hasattr(obj, "__dlpack__"):
        raise TypeError(
            f"{argname}: {kind} speaks DLPack, but attn allocates outputs with the inputs' own library "
            f"and supports {SUPPORTED} for now"
        )
    raise TypeError(f"{argname}: expected a {SUPPORTED}, got {kind}")


def host_ints(values: Any, argname: str) -> list:
    """Host copies of a small integer input (lengths), for the checks made before C sees them."""
    plain = _plain(values)
    if isinstance(plain, (int, float, bool)) or not hasattr(plain, "__iter__"):
        raise TypeError(f"{argname}: expected a sequence of integers, one per batch, got {type(values).__name__}")
    out = []
    for x in plain:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or float(x) != int(x):
            raise TypeError(f"{argname}: expected integers, got {x!r}")
        out.append(int(x))
    return out
