"""torch-sdpa: torch.nn.functional.scaled_dot_product_attention as a libattn backend.

Each problem is expressed the way a careful user would call SDPA:
- is_causal=True only where it means SPEC.md's rule (Tq == Tk, no other rule): SDPA's is_causal
  aligns the diagonal top-left, which is wrong for a KV-cache decode (Tq < Tk).  Everywhere else
  an explicit boolean mask: bottom-right causal, per-batch q_len / kv_len, windows, documents,
  prefix-LM.
- GQA through enable_gqa=True where this torch has it (2.5+), else K/V heads repeated.
- K/V rows at or past kv_len (a cache's unwritten tail, NaN in the matrix) are zeroed in a copy
  first: a masked key still enters P.V as 0 * V, and 0 * NaN is NaN.
- Rows with no visible key are set to exactly 0 (SDPA gives NaN there).
- ALiBi as an additive float mask; softcap and the synaptic modifier cannot be expressed in
  SDPA (they transform the score, a mask can only add to it), nor SPEC.md's Philox dropout
  stream (SDPA draws its own), nor LSE (not returned by the public API): UNSUPPORTED with that
  reason, never an approximation.

Options: backend = math | flash | efficient | cudnn | auto (default auto: torch picks).  CPU only
in this increment of python_host: efficient and cudnn need CUDA and make create() fail.
"""
import torch
import torch.nn.functional as F

_BACKENDS = ("math", "flash", "efficient", "cudnn", "auto")


def _sdpa_context(name):
    if name == "auto":
        return None
    from torch.nn.attention import SDPBackend, sdpa_kernel  # torch >= 2.3
    which = {"math": SDPBackend.MATH, "flash": SDPBackend.FLASH_ATTENTION,
             "efficient": SDPBackend.EFFICIENT_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}[name]
    return lambda: sdpa_kernel(which)


class TorchSdpa:
    def __init__(self, backend):
        self.backend = backend
        self.context = _sdpa_context(backend)
        self.has_gqa = _has_enable_gqa()

    def device(self):
        return "cpu"

    def describe(self):
        return (f"torch {torch.__version__} F.scaled_dot_product_attention, back end {self.backend}; "
                f"GQA {'enable_gqa' if self.has_gqa else 'by repeating K/V'}; no softcap, synaptic, "
                "Philox dropout or LSE")

    def check(self, p):
        if p.dropout_p > 0:
            return ("dropout: SDPA draws its own random numbers; SPEC.md's Philox stream (seed, offset, b, h, "
                    "pos, j) cannot be reproduced through dropout_p")
        if p.modifier == "softcap":
            return "softcap: SDPA cannot transform scores (a mask only adds to them)"
        if p.modifier == "synaptic":
            return "synaptic modifier: SDPA cannot transform scores (a mask only adds to them)"
        if p.modifier not in ("none", "alibi"):
            return f"score modifier {p.modifier}"
        if p.lse is not None:
            return "LSE: SDPA's public API does not return the log-sum-exp"
        if self.backend == "flash" and p.D != p.Dv:
            return f"flash back end: value dim {p.Dv} differs from head dim {p.D} (torch's flash kernels need both equal)"
        return None

    def run(self, p):
        q, k, v = torch.from_dlpack(p.q), torch.from_dlpack(p.k), torch.from_dlpack(p.v)
        B, Hq, Tq, _ = q.shape
        Hkv, Tk = k.shape[1], k.shape[2]
        q_len = torch.from_dlpack(p.q_len).long() if p.q_len is not None else torch.full((B,), Tq)
        kv_len = torch.from_dlpack(p.kv_len).long() if p.kv_len is not None else torch.full((B,), Tk)
        i = torch.arange(Tq).view(1, Tq, 1)
        j = torch.arange(Tk).view(1, 1, Tk)
        pos = (kv_len - q_len).view(B, 1, 1) + i  # bottom-right alignment, SPEC.md
        plain_causal = (p.causal and Tq == Tk and p.q_len is None and p.kv_len is None and p.window_left < 0
                        and p.window_right < 0 and p.doc_q is None and p.prefix_len is None
                        and p.modifier == "none")
        visible = (i < q_len.view(B, 1, 1)) & (j < kv_len.view(B, 1, 1))  # [B, Tq, Tk]
        if p.causal:
            causal_ok = j <= pos
            if p.prefix_len is not None:
                causal_ok = causal_ok | (j < torch.from_dlpack(p.prefix_len).long().view(B, 1, 1))
            visible = visible & causal_ok
        if p.window_left >= 0:
            visible = visible & (j >= pos - p.window_left)
        if p.window_right >= 0:
            visible = visible & (j <= pos + p.window_right)
        if p.doc_q is not None and p.doc_k is not None:
            dq, dk = torch.from_dlpack(p.doc_q), torch.from_dlpack(p.doc_k)
            visible = visible & (dq.view(B, Tq, 1) == dk.view(B, 1, Tk))
        # The cache's tail past kv_len: zeroed in a copy (0 * NaN is NaN, masked or not).
        key_ok = (torch.arange(Tk).view(1, 1, Tk, 1) < kv_len.view(B, 1, 1, 1))
        if p.kv_len is not None:
            k = torch.where(key_ok, k, torch.zeros((), dtype=k.dtype))
            v = torch.where(key_ok, v, torch.zeros((), dtype=v.dtype))
        kwargs = {"scale": p.scale}
        if Hkv != Hq:
            if self.has_gqa:
                kwargs["enable_gqa"] = True
            else:
                k = k.repeat_interleave(Hq // Hkv, dim=1)
                v = v.repeat_interleave(Hq // Hkv, dim=1)
        if plain_causal:
            kwargs["is_causal"] = True
        elif p.modifier == "alibi":
            slopes = torch.from_dlpack(p.alibi_slopes).float().view(1, Hq, 1, 1)
            bias = -slopes * (pos.view(B, 1, Tq, 1) - j.view(1, 1, 1, Tk)).abs().float()
            kwargs["attn_mask"] = torch.where(visible.view(B, 1, Tq, Tk), bias, float("-inf")).to(q.dtype)
        else:
            kwargs["attn_mask"] = visible.view(B, 1, Tq, Tk)
        if self.context:
            with self.context():
                out = F.scaled_dot_product_attention(q, k, v, **kwargs)
        else:
            out = F.scaled_dot_product_attention(q, k, v, **kwargs)
        has_key = visible.any(dim=-1).view(B, 1, Tq, 1)
        out = torch.where(has_key, out, torch.zeros((), dtype=out.dtype))
        torch.from_dlpack(p.o).copy_(out)


def _has_enable_gqa():
    """enable_gqa arrived in torch 2.5.  SDPA is a builtin without a readable signature, so ask it:
    one tiny call.  Without it, K/V heads are repeated (always right, more memory)."""
    q, kv = torch.zeros(1, 2, 1, 4), torch.zeros(1, 1, 1, 4)
    try:
        F.scaled_dot_product_attention(q, kv, kv, enable_gqa=True)
        return True
    except TypeError:
        return False


def create(options):
    options = dict(options)
    backend = options.pop("backend", "auto")
    if options:
        raise ValueError("unknown option(s) " + ", ".join(sorted(options)) + " (torch_sdpa takes backend)")
    if backend not in _BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(_BACKENDS)}")
    if backend in ("efficient", "cudnn"):
        raise RuntimeError(f"SDPA back end {backend} needs CUDA; python_host runs CPU backends only so far")
    return TorchSdpa(backend)
