"""attn.torch: libattn as a PyTorch custom op (`torch.ops.attn.attention`), and `sdpa_like`.

    import attn.torch
    o = attn.torch.attention(q, k, v, causal=True, backend="flex-cpu")   # through the op
    o = attn.torch.sdpa_like(q, k, v, is_causal=True, enable_gqa=True)   # SDPA's signature
    torch.compile(model, fullgraph=True)                                 # traces through both

This module imports torch (>= 2.4, for torch.library.custom_op); `import attn` alone never
does.  The op is registered when this module is first imported.

Why an op and not a plain Python call: torch.compile cannot trace into ctypes.  Registered as a
custom op with a fake implementation (the outputs' shapes, dtypes and devices, computed without
running anything), the call is one opaque node of the graph that Dynamo and Inductor place
like any aten op, and that runs attn.attention at run time.

No backward: the op's autograd formula raises NotImplementedError when a gradient reaches it,
so a loss that depends on it fails loudly instead of training with a zero gradient.  Note the
difference with attn.attention, which refuses an input that requires grad as soon as it is
called: the op returns an output with a grad_fn, and raises only when backward() reaches it.

This module's own file name shadows nothing: with absolute imports, `import torch` below is
PyTorch, and inside the package `attn.torch` is this module.
"""

import math
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch

from . import _expr
from . import api as _api
from ._problem import Synaptic

if not hasattr(torch.library, "custom_op"):
    raise ImportError(f"attn.torch needs torch >= 2.4 (torch.library.custom_op); this is torch {torch.__version__}")

__all__ = ["attention", "sdpa_like"]

_LAYOUTS = ("bhtd", "bthd")
_U64 = 2**64


# The op's schema has no list of strings: the names of the aux tensors travel as one string,
# comma-separated (each name is an identifier, so no name holds a comma).
_AUX_SEPARATOR = ","


def _aux_mapping(aux: Optional[List[torch.Tensor]], aux_names: str) -> Optional[Dict[str, torch.Tensor]]:
    """The op's aux tensors and names as attn.attention's `aux` mapping."""
    tensors = list(aux or [])
    names = aux_names.split(_AUX_SEPARATOR) if aux_names else []
    if len(names) != len(tensors):
        raise ValueError(f"aux_names: {len(names)} names ({aux_names!r}) for {len(tensors)} aux tensors")
    if len(set(names)) != len(names):
        raise ValueError(f"aux_names: a name is given twice in {aux_names!r}")
    # Read through detached aliases, as the other inputs (there is no backward).
    return {name: t.detach() for name, t in zip(names, tensors)} if tensors else None


# The schema is inferred from these annotations: this module must not use
# `from __future__ import annotations`, which would turn them into strings.
@torch.library.custom_op("attn::attention", mutates_args=(), device_types=None)
def _attention_op(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool,
    q_len: Optional[torch.Tensor],
    kv_len: Optional[torch.Tensor],
    window_left: int,
    window_right: int,
    doc_q: Optional[torch.Tensor],
    doc_k: Optional[torch.Tensor],
    prefix_len: Optional[torch.Tensor],
    softcap: Optional[float],
    alibi_slopes: Optional[torch.Tensor],
    synaptic_w: Optional[torch.Tensor],
    synaptic_lam: float,
    synaptic_eps: float,
    synaptic_beta: float,
    dropout_p: float,
    seed: int,
    offset: int,
    scale: Optional[float],
    return_lse: bool,
    layout: str,
    backend: str,
    config: Optional[str],
    mask_mod: Optional[str] = None,
    score_mod: Optional[str] = None,
    aux: Optional[List[torch.Tensor]] = None,
    aux_names: str = "",
) -> Tuple[torch.Tensor, torch.Tensor]:
    # Below autograd, inputs may still carry requires_grad; attn.attention (and DLPack export)
    # would refuse them, and nothing here records a gradient, so read them through detached
    # aliases (same memory, no copy).
    def d(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        return None if t is None else t.detach()

    synaptic = None
    if synaptic_w is not None:
        synaptic = Synaptic(synaptic_w.detach(), lam=synaptic_lam, eps=synaptic_eps, beta=synaptic_beta)
    window = None if (window_left, window_right) == (-1, -1) else (window_left, window_right)
    out = _api.attention(
        q.detach(), k.detach(), v.detach(), causal=causal, q_len=d(q_len), kv_len=d(kv_len), window=window,
        doc_q=d(doc_q), doc_k=d(doc_k), prefix_len=d(prefix_len), softcap=softcap, alibi_slopes=d(alibi_slopes),
        synaptic=synaptic, dropout_p=dropout_p, seed=seed % _U64, offset=offset, scale=scale,
        return_lse=return_lse, layout=layout, mask_mod=mask_mod, score_mod=score_mod,
        aux=_aux_mapping(aux, aux_names), backend=backend, config=config,
    )
    if return_lse:
        return out[0], out[1]
    # The op's return type is fixed; an empty LSE stands for "not asked for" (never computed).
    return out, q.new_empty((0,), dtype=torch.float32)


@_attention_op.register_fake
def _attention_fake(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, q_len: Optional[torch.Tensor],
    kv_len: Optional[torch.Tensor], window_left: int, window_right: int, doc_q: Optional[torch.Tensor],
    doc_k: Optional[torch.Tensor], prefix_len: Optional[torch.Tensor], softcap: Optional[float],
    alibi_slopes: Optional[torch.Tensor], synaptic_w: Optional[torch.Tensor], synaptic_lam: float,
    synaptic_eps: float, synaptic_beta: float, dropout_p: float, seed: int, offset: int, scale: Optional[float],
    return_lse: bool, layout: str, backend: str, config: Optional[str], mask_mod: Optional[str] = None,
    score_mod: Optional[str] = None, aux: Optional[List[torch.Tensor]] = None, aux_names: str = "",
) -> Tuple[torch.Tensor, torch.Tensor]:
    # What attn.attention allocates: O in q's layout, contiguous, q's dtype and device; LSE
    # float32 [B, Hq, Tq].  The shape checks that decide these shapes are repeated so that a
    # malformed call fails while tracing, not at run time.
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.dim() != 4:
            raise ValueError(f"{name}: expected a 4-d tensor ({layout}), got {t.dim()} dimensions")
    if layout not in _LAYOUTS:
        raise ValueError(f"layout: expected 'bhtd' or 'bthd', got {layout!r}")
    if layout == "bhtd":
        B, Hq, Tq = q.shape[0], q.shape[1], q.shape[2]
    else:
        B, Tq, Hq = q.shape[0], q.shape[1], q.shape[2]
    Dv = v.shape[3]
    o_shape = (B, Hq, Tq, Dv) if layout == "bhtd" else (B, Tq, Hq, Dv)
    o = q.new_empty(o_shape)
    lse = q.new_empty((B, Hq, Tq) if return_lse else (0,), dtype=torch.float32)
    return o, lse


def _setup_context(ctx: Any, inputs: Tuple[Any, ...], output: Any) -> None:
    pass  # nothing to save: there is no backward to use it


def _backward(ctx: Any, grad_o: torch.Tensor, grad_lse: torch.Tensor) -> Any:
    raise NotImplementedError(
        "attn::attention has no backward yet: a gradient reached it (O or LSE is part of the loss). "
        "Use it for inference (torch.no_grad() / torch.inference_mode()), or use "
        "torch.nn.functional.scaled_dot_product_attention where gradients are needed"
    )


_attention_op.register_autograd(_backward, setup_context=_setup_context)


# ---- Python entry points ---------------------------------------------------------------------


def _on_device(value: Any, like: torch.Tensor, dtype: torch.dtype, argname: str, what: str) -> Optional[torch.Tensor]:
    """An optional argument as a tensor of `dtype` on the inputs' device (the op takes tensors)."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.to(device=like.device, dtype=dtype)
    try:
        return torch.as_tensor(value, dtype=dtype, device=like.device)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{argname}: expected {what} (a list or a tensor), got {value!r}: {e}") from e


def _int32(value: Any, like: torch.Tensor, argname: str) -> Optional[torch.Tensor]:
    """Lengths and document ids."""
    return _on_device(value, like, torch.int32, argname, "integers")


def _float32(value: Any, like: torch.Tensor, argname: str) -> Optional[torch.Tensor]:
    return _on_device(value, like, torch.float32, argname, "numbers")


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
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
    synaptic: Union[None, Synaptic, torch.Tensor] = None,
    dropout_p: float = 0.0,
    seed: int = 0,
    offset: int = 0,
    scale: Optional[float] = None,
    return_lse: bool = False,
    layout: str = "bhtd",
    mask_mod: Optional[str] = None,
    score_mod: Optional[str] = None,
    aux: Optional[Mapping[str, torch.Tensor]] = None,
    backend: str = "auto",
    config: Optional[str] = None,
) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    """attn.attention (same arguments, same SPEC.md semantics) through the `attn::attention`
    custom op: traceable by torch.compile(fullgraph=True).  Torch tensors only; lists of
    lengths, ids and slopes are turned into tensors on q's device.  `config` is a path string.
    mask_mod and score_mod are strings of the op (constants of a compiled graph); `aux` tensors
    travel as a list of tensors and their names as one comma-separated string."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: attn.torch takes torch.Tensor, got {type(t).__name__} (attn.attention takes numpy too)")
    if window is None:
        window = (-1, -1)
    elif not isinstance(window, (tuple, list)) or len(window) != 2:
        raise TypeError(f"window: expected (left, right), each an int >= 0 or -1 for unbounded, got {window!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < _U64:
        raise ValueError(f"seed: expected an integer in [0, 2^64), got {seed!r}")
    # The op takes the synaptic modifier as its weights and three floats; without it, the
    # floats are Synaptic's defaults and unread.
    syn = synaptic if isinstance(synaptic, Synaptic) or synaptic is None else Synaptic(synaptic)
    syn_w = None if syn is None else _float32(syn.w, q, "synaptic.w")
    lam, eps, beta = (Synaptic.lam, Synaptic.eps, Synaptic.beta) if syn is None else (syn.lam, syn.eps, syn.beta)
    if config is not None:
        config = str(config)  # the op's schema takes a str; os.PathLike is converted here
    for argname, text in (("mask_mod", mask_mod), ("score_mod", score_mod)):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"{argname}: expected an expression (str), got {type(text).__name__}")
    aux_tensors, aux_names = _aux_lists(aux)
    o, lse = torch.ops.attn.attention(
        q, k, v, bool(causal), _int32(q_len, q, "q_len"), _int32(kv_len, q, "kv_len"), int(window[0]), int(window[1]),
        _int32(doc_q, q, "doc_q"), _int32(doc_k, q, "doc_k"), _int32(prefix_len, q, "prefix_len"),
        None if softcap is None else float(softcap), _float32(alibi_slopes, q, "alibi_slopes"), syn_w,
        float(lam), float(eps), float(beta), float(dropout_p),
        # torch's int is int64: a uint64 seed travels as its two's complement and comes back.
        seed - _U64 if seed >= 2**63 else seed, int(offset), None if scale is None else float(scale),
        bool(return_lse), layout, backend, config, mask_mod, score_mod, aux_tensors, aux_names,
    )
    return (o, lse) if return_lse else o


def _aux_lists(aux: Optional[Mapping[str, torch.Tensor]]) -> Tuple[Optional[List[torch.Tensor]], str]:
    """attention()'s `aux` mapping as the op takes it: the tensors, and their names as one string."""
    if aux is None:
        return None, ""
    if not isinstance(aux, Mapping):
        raise TypeError(f"aux: expected a mapping of names to tensors (a dict), got {type(aux).__name__}")
    for name, t in aux.items():
        _expr.check_aux_name(name)
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"aux[{name!r}]: attn.torch takes torch.Tensor, got {type(t).__module__}.{type(t).__name__}")
    return list(aux.values()), _AUX_SEPARATOR.join(aux)


def _op_output(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **options: Any) -> torch.Tensor:
    """attention() without LSE: O alone (a narrower return type than attention's)."""
    o = attention(q, k, v, **options)
    assert isinstance(o, torch.Tensor)  # return_lse is not among the options
    return o


def sdpa_like(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    attn_mask: Optional[torch.Tensor] = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: Optional[float] = None,
    enable_gqa: bool = False,
    backend: str = "auto",
    *,
    seed: int = 0,
    offset: int = 0,
    config: Optional[str] = None,
) -> torch.Tensor:
    """torch.nn.functional.scaled_dot_product_attention's signature, computed by libattn.

    q [B, Hq, Tq, D] (or [Hq, Tq, D]), k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv]: SDPA's layout.
    Returns O [B, Hq, Tq, Dv] (or [Hq, Tq, Dv]).  Differences from torch's SDPA:

    - is_causal=True is SPEC.md's bottom-right alignment: query i sits at position Tk - Tq + i,
      so a chunk of new queries sees the whole cached prefix.  torch's is_causal is top-left
      (query i sees keys 0..i) when Tq != Tk; the two agree when Tq == Tk.
    - attn_mask must be None: sdpa_like takes no mask yet.  attn.torch.attention has SPEC.md's
      visibility rules (lengths, causality, windows, document ids, prefix-LM) and mask_mod /
      score_mod, which read a mask tensor through `aux`.  A mask is refused with
      NotImplementedError, never ignored.
    - dropout_p > 0 drops entries with SPEC.md's Philox stream, keyed by `seed` and `offset`
      (keyword-only, default 0), not with torch's RNG: torch.manual_seed has no effect, and two
      calls with the same seed and offset drop the same entries.
    - Hq != Hkv needs enable_gqa=True, as in torch; query head h reads kv head h // (Hq // Hkv).
    - No backward (see the module's docstring).
    """
    if attn_mask is not None:
        raise NotImplementedError(
            "attn_mask: sdpa_like takes no (boolean or additive) mask yet; pass attn_mask=None and is_causal "
            "(bottom-right), or use attn.torch.attention's q_len/kv_len, window, doc_q/doc_k, prefix_len, or "
            "mask_mod / score_mod with the mask as an aux tensor (mask_mod=\"m[b][h][q_idx - (Tk - Tq)][kv_idx]\", "
            "aux={\"m\": attn_mask} for a boolean [B, H, Tq, Tk] mask)"
        )
    if q.dim() not in (3, 4) or k.dim() != q.dim() or v.dim() != q.dim():
        raise ValueError(
            "q, k, v: expected 4-d [B, H, T, D] (or 3-d [H, T, D]) tensors of one rank, "
            f"got {q.dim()}, {k.dim()}, {v.dim()} dimensions"
        )
    batched = q.dim() == 4
    if not batched:
        q, k, v = q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)
    if q.shape[1] != k.shape[1] and not enable_gqa:
        raise ValueError(
            f"q has {q.shape[1]} heads and k {k.shape[1]}: pass enable_gqa=True for grouped-query attention (as torch's SDPA)"
        )
    if scale is not None and (not math.isfinite(float(scale)) or float(scale) == 0.0):
        raise ValueError(f"scale: expected a finite nonzero number, or None for 1/sqrt(D), got {scale!r}")
    o = _op_output(q, k, v, causal=is_causal, dropout_p=dropout_p, seed=seed, offset=offset, scale=scale,
                  backend=backend, config=config)
    return o if batched else o.squeeze(0)
