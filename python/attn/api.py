"""attn.attention and attn.check: one problem, one backend (named, or chosen by attn_select)."""

from __future__ import annotations

import ctypes
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import _backends, _errors, _lib, _problem
from ._dlpack import device_name


def _candidates(cfg: _backends.Config, backend: str, device: Tuple[int, int]) -> Tuple[List[_backends.Backend], Dict[str, str]]:
    """The opened backends that may take a problem on `device`, in the order to try them, and
    the reason of every one that may not."""
    if not isinstance(backend, str):
        raise TypeError(f"backend: expected 'auto' or a backend name (str), got {type(backend).__name__}")
    names = cfg.selection_order if backend == "auto" else [backend]
    usable: List[_backends.Backend] = []
    refused: Dict[str, str] = {}
    for name in names:
        opened = cfg.open(name)
        if isinstance(opened, _backends.Failure):
            refused[name] = f"{name}: not available ({opened.status}): {opened.reason}"
        elif opened.device != device:
            # libattn does not compare tensor and backend devices: a CPU plugin handed CUDA
            # pointers would read device memory from the host, so it is refused here.
            refused[name] = f"{name}: runs on {device_name(opened.device)}, the tensors are on {device_name(device)}"
        else:
            usable.append(opened)
    return usable, refused


def _report(report: _lib.AttnSelectionReport) -> Dict[str, str]:
    out = {}
    for i in range(report.count):
        entry = report.entries[i]
        if i != report.chosen:
            name = entry.name.decode("utf-8", "replace")
            out[name] = entry.reason.decode("utf-8", "replace")
    return out


def _choose(cfg: _backends.Config, backend: str, p: _problem.Prepared) -> Tuple[Optional[_backends.Backend], Dict[str, str]]:
    """The backend that accepts the problem, returned with its lock held (the caller runs and
    releases), or None and every candidate's reason."""
    usable, refused = _candidates(cfg, backend, p.device)
    if not usable:
        return None, refused
    lib = _lib.lib()
    err = _lib.AttnError()
    handles = (ctypes.c_void_p * len(usable))(*[b.handle.value for b in usable])
    chosen = ctypes.c_void_p()
    report = _lib.AttnSelectionReport()
    locked = sorted(usable, key=lambda b: b.index)
    for b in locked:
        b.lock.acquire()
    picked: Optional[_backends.Backend] = None
    try:
        status = lib.attn_select(handles, len(usable), None, ctypes.byref(p.problem), ctypes.byref(chosen),
                                 ctypes.byref(report), ctypes.byref(err))
        try:
            reasons = _report(report)
        finally:
            lib.attn_selection_report_free(ctypes.byref(report))
        if status == _lib.ATTN_OK:
            picked = next(b for b in usable if b.handle.value == chosen.value)
            return picked, {}
        if status not in (_lib.ATTN_E_UNSUPPORTED, _lib.ATTN_E_NOT_APPLICABLE, _lib.ATTN_E_UNAVAILABLE):
            _errors.raise_for(status, err)  # a malformed problem (ValueError) or a failure, not a refusal
        names = cfg.selection_order if backend == "auto" else [backend]
        return None, {n: refused.get(n) or reasons.get(n, "") for n in names}
    finally:
        for b in locked:
            if b is not picked:
                b.lock.release()


def _unsupported(backend: str, reasons: Dict[str, str]) -> _errors.Unsupported:
    if backend == "auto":
        text = "no backend accepts this problem: " + "; ".join(reasons.values())
    else:
        text = next(iter(reasons.values()))
    return _errors.Unsupported(text, reasons)


def attention(
    q: Any,
    k: Any,
    v: Any,
    *,
    causal: bool = False,
    q_len: Any = None,
    kv_len: Any = None,
    window: Optional[Tuple[int, int]] = None,
    doc_q: Any = None,
    doc_k: Any = None,
    prefix_len: Any = None,
    softcap: Optional[float] = None,
    alibi_slopes: Any = None,
    synaptic: Union[None, _problem.Synaptic, Any] = None,
    dropout_p: float = 0.0,
    seed: int = 0,
    offset: int = 0,
    scale: Optional[float] = None,
    return_lse: bool = False,
    layout: str = "bhtd",
    mask_mod: Optional[str] = None,
    score_mod: Optional[str] = None,
    aux: Optional[Mapping[str, Any]] = None,
    backend: str = "auto",
    config: Optional[_backends.PathLike] = None,
) -> Any:
    """Attention as docs/SPEC.md defines it, computed by a libattn backend.

    q [B, Hq, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] (layout="bhtd"; "bthd" swaps the
    H and T axes), one dtype of float32 / float16 / bfloat16, any strides, read in place.
    Returns O, in q's layout, allocated by q's library on q's device; with return_lse=True,
    (O, LSE) with LSE float32 [B, Hq, Tq] (natural log; -inf for a row with no visible key).

    mask_mod and score_mod are expressions (SPEC.md, "Expressions"), e.g. mask_mod="kv_idx <=
    q_idx" or score_mod="score + bias[h][clamp(q_idx - kv_idx, 0, 15)]"; `aux` names the tensors
    they read ({"bias": table}): float32, int32 or bool / uint8, on q's device, read in place.

    backend="auto" takes the first backend of the config's priority list that accepts the
    problem; a name takes that backend or raises Unsupported with its reason.
    """
    cfg = _backends.config(config)
    p = _problem.build(
        q, k, v, causal=causal, q_len=q_len, kv_len=kv_len, window=window, doc_q=doc_q, doc_k=doc_k,
        prefix_len=prefix_len, softcap=softcap, alibi_slopes=alibi_slopes, synaptic=synaptic, dropout_p=dropout_p,
        seed=seed, offset=offset, scale=scale, return_lse=return_lse, layout=layout, mask_mod=mask_mod,
        score_mod=score_mod, aux=aux,
    )
    chosen, reasons = _choose(cfg, backend, p)
    if chosen is None:
        raise _unsupported(backend, reasons)
    err = _lib.AttnError()
    try:
        status = _lib.lib().attn_backend_run(chosen.handle, ctypes.byref(p.problem), ctypes.byref(err))
    finally:
        chosen.lock.release()
    _errors.raise_for(status, err, {chosen.name: err.text()})
    return (p.out, p.lse) if return_lse else p.out


def check(
    q: Any,
    k: Any,
    v: Any,
    *,
    backend: str = "auto",
    config: Optional[_backends.PathLike] = None,
    **options: Any,
) -> Optional[str]:
    """None when `backend` (or, for "auto", some backend of the config) would compute this
    problem; otherwise the reason it would not.  Takes attention()'s keyword arguments; malformed
    arguments still raise ValueError / TypeError.  Outputs are allocated for the check (the
    problem needs them) but nothing is computed."""
    cfg = _backends.config(config)
    defaults: Dict[str, Any] = dict(
        causal=False, q_len=None, kv_len=None, window=None, doc_q=None, doc_k=None, prefix_len=None, softcap=None,
        alibi_slopes=None, synaptic=None, dropout_p=0.0, seed=0, offset=0, scale=None, return_lse=False, layout="bhtd",
        mask_mod=None, score_mod=None, aux=None,
    )
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"check() got unexpected keyword arguments: {', '.join(unknown)}")
    defaults.update(options)
    p = _problem.build(q, k, v, **defaults)
    chosen, reasons = _choose(cfg, backend, p)
    if chosen is not None:
        chosen.lock.release()
        return None
    return str(_unsupported(backend, reasons))
