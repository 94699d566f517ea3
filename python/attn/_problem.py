"""Building an attn_problem from Python arguments, after checking each of them.

Every check that names an argument happens here, before any C code reads a pointer: libattn's
own validation (attn_problem_validate) runs again inside attn_backend_run/check, but its
messages speak of struct fields, and a wrong shape must never reach a plugin.
"""

from __future__ import annotations

import ctypes
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from . import _arrays, _errors, _expr, _lib
from ._dlpack import View, device_name, dlpack_device

_MAIN_DTYPES = ("float32", "float16", "bfloat16")
_LAYOUTS = {"bhtd": (0, 1, 2, 3), "bthd": (0, 2, 1, 3)}


@dataclass
class Synaptic:
    """The synaptic score modifier (SPEC.md, "Scores"): per-key weights w, float32 [B, Hq, Tk]
    (any strides), and its parameters."""

    w: Any
    lam: float = 1.0
    eps: float = 1e-6
    beta: float = 0.1


class Prepared:
    """A problem ready for libattn: the struct, the views it points into and everything else it
    points at (parsed expressions, arrays of the struct's pointers), kept alive with it, and the
    outputs to hand back."""

    def __init__(self) -> None:
        self.problem = _lib.AttnProblem()
        self.views: List[View] = []
        self.keep: List[Any] = []
        self.out: Any = None
        self.lse: Any = None
        self.device: Tuple[int, int] = (_lib.KDL_CPU, 0)

    def add(self, obj: Any, argname: str, stream: Optional[int]) -> View:
        view = View(obj, argname, stream)
        self.views.append(view)
        return view


def _is_number(x: Any) -> bool:
    # numbers.Real takes numpy scalars (np.float32(5.0)) as well as int and float.
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (hasattr(value, "__index__")):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    value = int(value)
    if not lo <= value <= hi:
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {value}")
    return value


def _shape_of(view: View, order: Sequence[int]) -> Tuple[int, ...]:
    return tuple(view.shape[a] for a in order)


def build(
    q: Any,
    k: Any,
    v: Any,
    *,
    causal: bool,
    q_len: Any,
    kv_len: Any,
    window: Optional[Tuple[int, int]],
    doc_q: Any,
    doc_k: Any,
    prefix_len: Any,
    softcap: Optional[float],
    alibi_slopes: Any,
    synaptic: Any,
    dropout_p: float,
    seed: int,
    offset: int,
    scale: Optional[float],
    return_lse: bool,
    layout: str,
    mask_mod: Optional[str] = None,
    score_mod: Optional[str] = None,
    aux: Optional[Mapping[str, Any]] = None,
) -> Prepared:
    """Checks every argument, allocates the outputs and fills an attn_problem."""
    if layout not in _LAYOUTS:
        raise ValueError(f"layout: expected 'bhtd' or 'bthd', got {layout!r}")
    order = _LAYOUTS[layout]
    library = _arrays.library_of(q, "q")
    for name, t in (("k", k), ("v", v)):
        if _arrays.library_of(t, name) is not library:
            raise TypeError(f"{name}: expected a {library.name} tensor like q, got {type(t).__module__}.{type(t).__name__}")
    devices = {name: dlpack_device(t, name) for name, t in (("q", q), ("k", k), ("v", v))}
    for name in ("k", "v"):
        if devices[name] != devices["q"]:
            raise ValueError(
                f"{name}: expected a tensor on q's device {device_name(devices['q'])}, got {device_name(devices[name])}"
            )
    dlpack_stream, stream = library.stream(q)

    p = Prepared()
    p.device = devices["q"]
    qv, kv, vv = (p.add(library.readable(t, name), name, dlpack_stream) for name, t in (("q", q), ("k", k), ("v", v)))
    for view in (qv, kv, vv):
        if view.ndim != 4:
            dims = "[B, H, T, D]" if layout == "bhtd" else "[B, T, H, D]"
            raise ValueError(f"{view.argname}: expected a rank-4 tensor {dims} (layout={layout!r}), got shape {list(view.shape)}")
    if qv.dtype not in _MAIN_DTYPES:
        raise TypeError(f"q: expected dtype float32, float16 or bfloat16, got {qv.dtype}")
    for view in (kv, vv):
        if view.dtype != qv.dtype:
            raise TypeError(f"{view.argname}: expected q's dtype {qv.dtype}, got {view.dtype}")
    B, Hq, Tq, D = _shape_of(qv, order)
    Bk, Hkv, Tk, Dk = _shape_of(kv, order)
    Bv, Hv, Tv, Dv = _shape_of(vv, order)
    if Bk != B or Bv != B:
        raise ValueError(f"{'k' if Bk != B else 'v'}: expected batch size {B} (q's), got {Bk if Bk != B else Bv}")
    if Dk != D:
        raise ValueError(f"k: expected head dim {D} (q's), got {Dk}")
    if Hv != Hkv or Tv != Tk:
        raise ValueError(f"v: expected {Hkv} heads and {Tk} keys (k's), got {Hv} heads and {Tv} keys")
    if Hkv == 0 or Hq % Hkv != 0:
        raise ValueError(f"k: the number of query heads ({Hq}) must be a multiple of the number of key/value heads ({Hkv})")

    pr = p.problem
    pr.struct_size = ctypes.sizeof(_lib.AttnProblem)
    pr.q, pr.k, pr.v = qv.dltensor(order), kv.dltensor(order), vv.dltensor(order)
    pr.causal = 1 if causal else 0
    pr.stream = stream

    # The small inputs of fixed dtype and shape (lengths, ids, slopes, weights), converted if need be.
    def small_input(value: Any, argname: str, dtype: str, shape: Tuple[int, ...], what: str) -> _lib.DLTensor:
        try:
            array = library.asarray(q, value, dtype)
        except (TypeError, ValueError, RuntimeError, OverflowError) as e:
            raise TypeError(f"{argname}: expected {what}: {e}") from e
        view = p.add(array, argname, dlpack_stream)
        if view.shape != shape:
            raise ValueError(f"{argname}: expected shape {list(shape)} ({what}), got {list(view.shape)}")
        p.keep.append(array)
        return view.dltensor()

    # Lengths: values are checked here against Tq / Tk, on host copies.
    host = {}
    for argname, value, limit in (("q_len", q_len, Tq), ("kv_len", kv_len, Tk), ("prefix_len", prefix_len, Tk)):
        if value is None:
            continue
        values = _arrays.host_ints(value, argname)
        if len(values) != B:
            raise ValueError(f"{argname}: expected {B} values (one per batch), got {len(values)}")
        for b, x in enumerate(values):
            if argname != "prefix_len" and not 0 <= x <= limit:
                bound = "Tq" if argname == "q_len" else "Tk"
                raise ValueError(f"{argname}: {argname}[{b}] = {x} is outside [0, {bound} = {limit}]")
            if argname == "prefix_len" and x < 0:
                raise ValueError(f"prefix_len: prefix_len[{b}] = {x} is negative")
        host[argname] = values
        setattr(pr, argname, small_input(value, argname, "int32", (B,), "int32 [B]"))
    if doc_q is not None or doc_k is not None:
        if doc_q is None or doc_k is None:
            raise ValueError("doc_q, doc_k: document ids need both doc_q [B, Tq] and doc_k [B, Tk]")
        pr.doc_q = small_input(doc_q, "doc_q", "int32", (B, Tq), "int32 [B, Tq] document ids")
        pr.doc_k = small_input(doc_k, "doc_k", "int32", (B, Tk), "int32 [B, Tk] document ids")

    if window is None:
        pr.window_left, pr.window_right = -1, -1
    else:
        if not isinstance(window, (tuple, list)) or len(window) != 2:
            raise TypeError(f"window: expected (left, right), each an int >= 0 or -1 for unbounded, got {window!r}")
        pr.window_left = _check_int("window[0]", window[0], -1, 2**31 - 1)
        pr.window_right = _check_int("window[1]", window[1], -1, 2**31 - 1)

    modifiers = [n for n, x in (("softcap", softcap), ("alibi_slopes", alibi_slopes), ("synaptic", synaptic)) if x is not None]
    if score_mod is not None and modifiers:
        raise ValueError(
            f"score_mod, {modifiers[0]}: score_mod replaces the built-in score modifiers; write {modifiers[0]} into the "
            "expression (softcap c is 'c * tanh(score / c)', ALiBi 'score - slopes[h] * abs(q_idx - kv_idx)' with an "
            "aux tensor 'slopes'; SPEC.md, \"Expressions\")"
        )
    if len(modifiers) > 1:
        raise ValueError(f"{', '.join(modifiers)}: at most one score modifier per call (SPEC.md), got {len(modifiers)}")
    pr.modifier = _lib.ATTN_MOD_NONE
    if softcap is not None:
        if not _is_number(softcap) or not math.isfinite(softcap) or softcap <= 0:
            raise ValueError(f"softcap: expected a finite number > 0, got {softcap!r}")
        pr.modifier, pr.softcap = _lib.ATTN_MOD_SOFTCAP, float(softcap)
    elif alibi_slopes is not None:
        pr.modifier = _lib.ATTN_MOD_ALIBI
        pr.alibi_slopes = small_input(alibi_slopes, "alibi_slopes", "float32", (Hq,), "float32 [Hq] slopes")
    elif synaptic is not None:
        syn = synaptic if isinstance(synaptic, Synaptic) else Synaptic(synaptic)
        for name, value in (("lam", syn.lam), ("eps", syn.eps), ("beta", syn.beta)):
            if not _is_number(value) or not math.isfinite(value):
                raise ValueError(f"synaptic.{name}: expected a finite number, got {value!r}")
        pr.modifier = _lib.ATTN_MOD_SYNAPTIC
        pr.synaptic_lambda, pr.synaptic_eps, pr.synaptic_beta = float(syn.lam), float(syn.eps), float(syn.beta)
        pr.synaptic_w = small_input(syn.w, "synaptic.w", "float32", (B, Hq, Tk), "float32 [B, Hq, Tk] weights")

    _set_expressions(p, library, dlpack_stream, mask_mod, score_mod, aux)

    if scale is None:
        pr.scale = 0.0  # the ABI's "default": 1/sqrt(D)
    elif not _is_number(scale) or not math.isfinite(scale) or scale == 0:
        raise ValueError(f"scale: expected a finite nonzero number, or None for 1/sqrt(D), got {scale!r}")
    else:
        pr.scale = float(scale)
    if not _is_number(dropout_p) or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p: expected a number in [0, 1), got {dropout_p!r}")
    pr.dropout_p = float(dropout_p)
    pr.dropout_seed = _check_int("seed", seed, 0, 2**64 - 1)
    pr.dropout_offset = _check_int("offset", offset, 0, 2**32 - 1)

    # Outputs, allocated by the inputs' library on their device, in the inputs' layout.
    o_shape = (B, Hq, Tq, Dv) if layout == "bhtd" else (B, Tq, Hq, Dv)
    p.out = library.empty(q, o_shape, qv.dtype)
    pr.o = p.add(p.out, "out", dlpack_stream).dltensor(order)
    if return_lse:
        p.lse = library.empty(q, (B, Hq, Tq), "float32")
        pr.lse = p.add(p.lse, "lse", dlpack_stream).dltensor()

    # libattn's own checks, with the host copies of the lengths, so that a bad problem is refused
    # here with the library's words and never reaches a plugin.
    lib = _lib.lib()
    err = _lib.AttnError()
    status = lib.attn_problem_validate(ctypes.byref(pr), ctypes.byref(err))
    if status == _lib.ATTN_OK and host:
        arrays = {n: (ctypes.c_int32 * len(x))(*x) for n, x in host.items()}
        status = lib.attn_problem_validate_lengths(
            ctypes.byref(pr), arrays.get("q_len"), arrays.get("kv_len"), arrays.get("prefix_len"), ctypes.byref(err)
        )
    _errors.raise_for(status, err)
    return p


def _aux_view(p: Prepared, library: _arrays.Library, dlpack_stream: Optional[int], name: str, tensor: Any) -> View:
    """One aux tensor, read in place: q's library, on q's device, of a dtype an expression reads."""
    argname = f"aux[{name!r}]"
    if _arrays.library_of(tensor, argname) is not library:
        kind = f"{type(tensor).__module__}.{type(tensor).__name__}"
        raise TypeError(f"{argname}: expected a {library.name} tensor like q, got {kind}")
    device = dlpack_device(tensor, argname)
    if device != p.device:
        raise ValueError(f"{argname}: expected a tensor on q's device {device_name(p.device)}, got {device_name(device)}")
    view = p.add(library.readable(tensor, argname), argname, dlpack_stream)
    if view.dtype not in _expr.AUX_TYPES:
        raise TypeError(f"{argname}: expected dtype {_expr.AUX_DTYPES_TEXT}, got {view.dtype}")
    if view.ndim > _lib.ATTN_EXPR_MAX_ARITY:
        raise ValueError(f"{argname}: expected a tensor of rank 0 to {_lib.ATTN_EXPR_MAX_ARITY}, got shape {list(view.shape)}")
    return view


def _set_expressions(
    p: Prepared,
    library: _arrays.Library,
    dlpack_stream: Optional[int],
    mask_mod: Optional[str],
    score_mod: Optional[str],
    aux: Optional[Mapping[str, Any]],
) -> None:
    """mask_mod and score_mod, parsed with every aux tensor declared (its dtype gives the type,
    its rank the rank), and the aux tensors, zero-copy."""
    if aux is not None and not isinstance(aux, Mapping):
        raise TypeError(f"aux: expected a mapping of names to tensors (a dict), got {type(aux).__name__}")
    tensors = dict(aux or {})
    if tensors and mask_mod is None and score_mod is None:
        raise ValueError("aux: given without mask_mod or score_mod (only an expression reads aux tensors)")
    if len(tensors) > _lib.ATTN_PROBLEM_MAX_AUX:
        raise ValueError(f"aux: at most {_lib.ATTN_PROBLEM_MAX_AUX} tensors, got {len(tensors)}")
    names: List[bytes] = []
    dltensors: List[_lib.DLTensor] = []
    declared: List[Tuple[str, int, int]] = []
    for name, tensor in tensors.items():
        _expr.check_aux_name(name)
        view = _aux_view(p, library, dlpack_stream, name, tensor)
        dl = view.dltensor()
        if view.dtype == "bool":
            dl.dtype = _lib.DLDataType(_lib.KDL_UINT, 8, 1)  # the same bytes, 0 or 1: libattn reads a bool as uint8
        names.append(name.encode("ascii"))
        dltensors.append(dl)
        declared.append((name, _expr.AUX_TYPES[view.dtype], view.ndim))

    pr = p.problem
    for argname, text in (("mask_mod", mask_mod), ("score_mod", score_mod)):
        if text is None:
            continue
        expression = _expr.parse(text, argname, tuple(declared))
        p.keep.append(expression)  # freed with the problem, never before
        setattr(pr, argname, expression.pointer)
    if tensors:
        table = (_lib.DLTensor * len(dltensors))(*dltensors)
        name_table = (ctypes.c_char_p * len(names))(*names)
        p.keep.extend((table, name_table, names))  # what the struct's pointers point into
        pr.aux = ctypes.cast(table, ctypes.POINTER(_lib.DLTensor))
        pr.aux_names = ctypes.cast(name_table, ctypes.POINTER(ctypes.c_char_p))
        pr.aux_count = len(dltensors)
