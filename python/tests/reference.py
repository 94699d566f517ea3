"""SPEC.md's attention in float64 numpy, written from the spec and independent of libattn: the
oracle of the tests.  Tensors in BHTD; dropout is not modelled (Philox is checked across
backends instead, test_numerics.py)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np


def attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    causal: bool = False,
    q_len: Optional[Sequence[int]] = None,
    kv_len: Optional[Sequence[int]] = None,
    window: Optional[Tuple[int, int]] = None,
    doc_q: Optional[np.ndarray] = None,
    doc_k: Optional[np.ndarray] = None,
    prefix_len: Optional[Sequence[int]] = None,
    softcap: Optional[float] = None,
    alibi_slopes: Optional[np.ndarray] = None,
    synaptic: Optional[Tuple[np.ndarray, float, float, float]] = None,
    scale: Optional[float] = None,
    mask: Optional[np.ndarray] = None,
    bias: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """mask (bool [B, Hq, Tq, Tk]) is ANDed into the visibility rules, as a mask_mod is; bias
    (float [B, Hq, Tq, Tk]) is added to the scaled score, as score_mod="score + ..." is."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    B, Hq, Tq, D = q.shape
    Hkv, Tk, Dv = k.shape[1], k.shape[2], v.shape[3]
    scale = 1.0 / np.sqrt(D) if scale is None else scale
    out = np.zeros((B, Hq, Tq, Dv))
    lse = np.full((B, Hq, Tq), -np.inf)
    i = np.arange(Tq)[:, None]
    j = np.arange(Tk)[None, :]
    for b in range(B):
        ql = Tq if q_len is None else q_len[b]
        kl = Tk if kv_len is None else kv_len[b]
        pos = kl - ql + i  # bottom-right alignment
        visible = (i < ql) & (j < kl)
        if causal:
            rule2 = j <= pos
            if prefix_len is not None:
                rule2 = rule2 | (j < prefix_len[b])
            visible &= rule2
        if window is not None:
            if window[0] >= 0:
                visible &= j >= pos - window[0]
            if window[1] >= 0:
                visible &= j <= pos + window[1]
        if doc_q is not None:
            visible &= doc_q[b][:, None] == doc_k[b][None, :]
        for h in range(Hq):
            kh = h // (Hq // Hkv)
            s = scale * (q[b, h] @ k[b, kh].T)
            if softcap is not None:
                s = softcap * np.tanh(s / softcap)
            elif alibi_slopes is not None:
                s = s - float(alibi_slopes[h]) * np.abs(pos - j)
            elif synaptic is not None:
                w, lam, eps, beta = synaptic
                sig = 1.0 / (1.0 + np.exp(-s))
                s = s + lam * np.log(np.asarray(w, np.float64)[b, h][None, :] * sig + eps) - beta * np.abs(pos - j) / max(1, kl)
            if bias is not None:
                s = s + np.asarray(bias, np.float64)[b, h]
            for row in range(Tq):
                vis = visible[row] if mask is None else visible[row] & np.asarray(mask, bool)[b, h, row]
                if not vis.any():
                    continue
                m = s[row][vis].max()
                row_lse = m + np.log(np.exp(s[row][vis] - m).sum())
                p = np.where(vis, np.exp(np.where(vis, s[row], 0.0) - row_lse), 0.0)
                out[b, h, row] = p @ v[b, kh]
                lse[b, h, row] = row_lse
    return out, lse
