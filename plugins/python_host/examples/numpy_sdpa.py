"""numpy-sdpa: SPEC.md's attention in numpy, float64 inside, stored in the problem's dtype.

A python_host backend (plugins/python_host/README.md) that needs nothing but numpy, so that the
plugin is tested where torch is not installed.  It computes every rule of SPEC.md but dropout
(SPEC's Philox stream is not reimplemented here: refused with that reason): bottom-right causal,
per-batch q_len / kv_len, MHA/GQA/MQA, windows, documents, prefix-LM, softcap, ALiBi, synaptic,
LSE.  bfloat16, which numpy lacks, is read and written through its bits (Tensor.as_uint()).

Options: none (an unknown one is refused, as every backend must).
"""
import numpy as np


def _load(t):
    """A float64 copy of tensor t (zero-copy view first, then one conversion)."""
    if t.dtype == "bfloat16":
        bits = np.from_dlpack(t.as_uint()).astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    return np.from_dlpack(t).astype(np.float64)


def _store(t, values):
    """Writes float64 `values` into tensor t in place, rounded once to its dtype."""
    if t.dtype == "bfloat16":
        out = np.from_dlpack(t.as_uint())
        f = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
        rounded = (f + 0x7FFF + ((f >> 16) & 1)) >> 16  # round to nearest even (no NaN reaches here)
        out[...] = rounded.astype(np.uint16)
        return
    out = np.from_dlpack(t)
    out[...] = values.astype(out.dtype)


class NumpySdpa:
    def device(self):
        return "cpu"

    def describe(self):
        return ("numpy, float64 inside; float32 float16 bfloat16; every SPEC.md rule but dropout; "
                "one batch at a time")

    def check(self, p):
        if p.dropout_p > 0:
            return "dropout: SPEC.md's Philox stream is not reimplemented in this numpy example"
        if p.dtype not in ("float32", "float16", "bfloat16"):
            return f"dtype {p.dtype}"
        return None

    def run(self, p):
        q, k, v = _load(p.q), _load(p.k), _load(p.v)
        B, Hq, Tq, D = q.shape
        Hkv, Tk, Dv = k.shape[1], k.shape[2], v.shape[3]
        group = Hq // Hkv
        q_len = np.from_dlpack(p.q_len) if p.q_len is not None else np.full(B, Tq)
        kv_len = np.from_dlpack(p.kv_len) if p.kv_len is not None else np.full(B, Tk)
        prefix = np.from_dlpack(p.prefix_len) if p.prefix_len is not None else np.zeros(B, dtype=np.int64)
        doc_q = np.from_dlpack(p.doc_q) if p.doc_q is not None else None
        doc_k = np.from_dlpack(p.doc_k) if p.doc_k is not None else None
        slopes = np.from_dlpack(p.alibi_slopes).astype(np.float64) if p.alibi_slopes is not None else None
        syn_w = np.from_dlpack(p.synaptic_w).astype(np.float64) if p.synaptic_w is not None else None
        out = np.zeros((B, Hq, Tq, Dv))
        lse = np.full((B, Hq, Tq), -np.inf)
        for b in range(B):
            ql, kl = int(q_len[b]), int(kv_len[b])
            if ql == 0 or kl == 0:
                continue
            i = np.arange(ql)[:, None]
            j = np.arange(kl)[None, :]
            pos = kl - ql + i
            visible = np.ones((ql, kl), dtype=bool)
            if p.causal:
                visible &= (j <= pos) | (j < int(prefix[b]))
            if p.window_left >= 0:
                visible &= j >= pos - p.window_left
            if p.window_right >= 0:
                visible &= j <= pos + p.window_right
            if doc_q is not None and doc_k is not None:
                visible &= doc_q[b, :ql][:, None] == doc_k[b, :kl][None, :]
            # Keys at or past kv_len may hold NaN (a cache's unwritten tail): never touched.
            kb = np.repeat(k[b, :, :kl], group, axis=0)  # [Hq, kl, D]: query head h reads h // group
            vb = np.repeat(v[b, :, :kl], group, axis=0)
            x = p.scale * np.einsum("htd,hsd->hts", q[b, :, :ql], kb)
            distance = np.abs(pos - j).astype(np.float64)
            if p.modifier == "softcap":
                s = p.softcap * np.tanh(x / p.softcap)
            elif p.modifier == "alibi":
                s = x - slopes[:, None, None] * distance
            elif p.modifier == "synaptic":
                w = syn_w[b, :, :kl][:, None, :]
                with np.errstate(divide="ignore"):
                    s = (x + p.synaptic_lambda * np.log(w / (1.0 + np.exp(-x)) + p.synaptic_eps)
                         - p.synaptic_beta * distance / max(1.0, float(kl)))
            else:
                s = x
            s = np.where(visible, s, -np.inf)
            m = s.max(axis=-1, keepdims=True)
            m = np.where(np.isfinite(m), m, 0.0)
            e = np.exp(s - m)
            total = e.sum(axis=-1, keepdims=True)
            has = total > 0
            weights = e / np.where(has, total, 1.0)
            out[b, :, :ql] = weights @ vb
            lse[b, :, :ql] = np.where(has[..., 0], m[..., 0] + np.log(np.where(has, total, 1.0))[..., 0], -np.inf)
        _store(p.o, out)
        if p.lse is not None:
            _store(p.lse, lse)


def create(options):
    if options:
        raise ValueError("unknown option(s) " + ", ".join(sorted(options)) + " (numpy_sdpa takes none)")
    return NumpySdpa()
