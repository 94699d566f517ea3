"""Every CPU backend against the float64 reference of reference.py, over the masking/caching
cases a model with a KV cache hits, with numpy and torch inputs, in both layouts."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import pytest

import attn
import reference
from conftest import CPU_BACKENDS, FLAVOURS, assert_close, make, to_bhtd64, to_numpy64, torch

# name: sizes, the cache slack behind K/V (strided views), and attention()'s keyword arguments;
# "aux" builds the per-case tensors (document ids, slopes, synaptic weights).
CASES: Dict[str, Dict[str, Any]] = {
    "causal_full": dict(B=2, Hq=4, Hkv=4, Tq=37, Tk=37, D=32, Dv=32, kw=dict(causal=True)),
    "kv_decode": dict(B=2, Hq=8, Hkv=2, Tq=1, Tk=45, D=32, Dv=32, extra=19, kw=dict(causal=True)),
    "chunk_decode": dict(B=2, Hq=4, Hkv=4, Tq=5, Tk=29, D=16, Dv=16, extra=7, kw=dict(causal=True)),
    "gqa_bidirectional": dict(B=1, Hq=6, Hkv=3, Tq=11, Tk=13, D=16, Dv=24, kw=dict()),
    "mqa_causal": dict(B=2, Hq=4, Hkv=1, Tq=9, Tk=9, D=16, Dv=16, kw=dict(causal=True)),
    "ragged_causal": dict(B=3, Hq=2, Hkv=2, Tq=5, Tk=9, D=16, Dv=16, extra=3,
                          kw=dict(causal=True, q_len=[5, 0, 3], kv_len=[9, 4, 0])),
    "ragged_bidirectional": dict(B=3, Hq=2, Hkv=1, Tq=5, Tk=9, D=16, Dv=8,
                                 kw=dict(q_len=[2, 5, 1], kv_len=[0, 9, 3])),
    "window_softcap": dict(B=1, Hq=2, Hkv=2, Tq=16, Tk=16, D=16, Dv=16, kw=dict(causal=True, window=(4, 0), softcap=5.0)),
    "alibi": dict(B=2, Hq=4, Hkv=2, Tq=6, Tk=12, D=16, Dv=16, kw=dict(causal=True), aux="alibi"),
    "documents_prefix": dict(B=2, Hq=2, Hkv=2, Tq=12, Tk=12, D=16, Dv=16, kw=dict(causal=True, prefix_len=[4, 0]),
                             aux="docs"),
    "synaptic": dict(B=2, Hq=2, Hkv=2, Tq=4, Tk=10, D=16, Dv=16, kw=dict(causal=True), aux="synaptic"),
    "scale": dict(B=1, Hq=2, Hkv=2, Tq=7, Tk=7, D=16, Dv=16, kw=dict(scale=0.3)),
}


def _aux(case: Dict[str, Any], rng: np.random.Generator) -> Dict[str, Any]:
    B, Hq, Tk = case["B"], case["Hq"], case["Tk"]
    if case.get("aux") == "alibi":
        return dict(alibi_slopes=np.array([2.0 ** -(h + 1) for h in range(Hq)], np.float32))
    if case.get("aux") == "docs":
        doc = np.array([[0] * 5 + [1] * 7, [0] * 3 + [1] * 3 + [2] * 6], np.int32)
        return dict(doc_q=doc, doc_k=doc)
    if case.get("aux") == "synaptic":
        return dict(synaptic=attn.Synaptic(rng.uniform(0.0, 1.0, (B, Hq, Tk)).astype(np.float32), lam=1.0, eps=1e-6, beta=0.1))
    return {}


@pytest.mark.parametrize("lib,dtype", FLAVOURS)
@pytest.mark.parametrize("layout", ["bhtd", "bthd"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_against_reference(backend: str, case: str, layout: str, lib: str, dtype: str, rng: np.random.Generator) -> None:
    c = CASES[case]
    B, Hq, Hkv, Tq, Tk, D, Dv, extra = c["B"], c["Hq"], c["Hkv"], c["Tq"], c["Tk"], c["D"], c["Dv"], c.get("extra", 0)
    q = make(rng, lib, dtype, layout, B, Hq, Tq, D)
    k = make(rng, lib, dtype, layout, B, Hkv, Tk, D, extra)
    v = make(rng, lib, dtype, layout, B, Hkv, Tk, Dv, extra)
    kw = dict(c["kw"], **_aux(c, rng))
    if lib == "torch":  # auxiliary tensors of the inputs' library too, where they are arrays
        kw = {n: torch.from_numpy(x) if isinstance(x, np.ndarray) else x for n, x in kw.items()}

    reason = attn.check(q, k, v, backend=backend, layout=layout, return_lse=True, **kw)
    if reason is not None:
        # A backend may refuse a half type on a CPU without the instructions for it, but never
        # float32, and a refusal must come back from attention() as Unsupported with that reason.
        assert dtype != "float32", f"{backend} refused float32: {reason}"
        with pytest.raises(attn.Unsupported) as refused:
            attn.attention(q, k, v, backend=backend, layout=layout, return_lse=True, **kw)
        assert refused.value.reason == reason
        return

    o, lse = attn.attention(q, k, v, backend=backend, layout=layout, return_lse=True, **kw)
    assert type(o) is type(q) and type(lse) is type(q), "outputs come from the inputs' library"
    want_shape = (B, Hq, Tq, Dv) if layout == "bhtd" else (B, Tq, Hq, Dv)
    assert tuple(o.shape) == want_shape and tuple(lse.shape) == (B, Hq, Tq)
    assert str(o.dtype).endswith(dtype) and str(lse.dtype).endswith("float32")

    syn = kw.get("synaptic")
    ref_kw = {n: x for n, x in c["kw"].items()}
    if "alibi_slopes" in kw:
        ref_kw["alibi_slopes"] = to_numpy64(kw["alibi_slopes"])
    if "doc_q" in kw:
        ref_kw["doc_q"], ref_kw["doc_k"] = to_numpy64(kw["doc_q"]), to_numpy64(kw["doc_k"])
    if syn is not None:
        ref_kw["synaptic"] = (to_numpy64(syn.w), syn.lam, syn.eps, syn.beta)
    want_o, want_lse = reference.attention(to_bhtd64(q, layout), to_bhtd64(k, layout), to_bhtd64(v, layout), **ref_kw)
    got_o = to_bhtd64(o, layout)
    assert_close("O", got_o, want_o, dtype)
    assert_close("LSE", to_numpy64(lse), want_lse, "float32")
    # Padding rows and rows without a visible key: exactly zero (SPEC.md), not merely close.
    empty = np.isinf(want_lse)
    assert (got_o[empty] == 0).all(), "rows with no visible key must be exactly 0"


@pytest.mark.parametrize("backend", CPU_BACKENDS[1:])
def test_dropout_matches_reference_backend(backend: str, rng: np.random.Generator) -> None:
    """Dropout is a pure function of (seed, offset, b, h, pos, j): every backend drops the same
    entries as sdpa-ref, and a different seed drops others."""
    q, k, v = (make(rng, "numpy", "float32", "bhtd", 2, 2, 16, 16) for _ in range(3))
    kw = dict(causal=True, dropout_p=0.3, seed=12345, offset=7)
    want = attn.attention(q, k, v, backend="sdpa-ref", **kw)
    got = attn.attention(q, k, v, backend=backend, **kw)
    assert np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max())
    plain = attn.attention(q, k, v, backend=backend, causal=True)
    other = attn.attention(q, k, v, backend=backend, **dict(kw, seed=54321))
    assert np.abs(got - plain).max() > 1e-3, "dropout_p = 0.3 changed nothing"
    assert np.abs(got - other).max() > 1e-3, "the seed changed nothing"


def test_auto_picks_first_backend_of_the_config(rng: np.random.Generator) -> None:
    q, k, v = (make(rng, "numpy", "float32", "bhtd", 1, 2, 8, 16) for _ in range(3))
    o = attn.attention(q, k, v, causal=True)
    want, _ = reference.attention(q, k, v, causal=True)
    assert_close("O", o.astype(np.float64), want, "float32")


def test_readonly_and_broadcast_inputs_are_read_in_place(rng: np.random.Generator) -> None:
    """A read-only numpy array (here a broadcast: stride 0 over the batch) exports through
    DLPack 1.0 and is read, not copied or refused."""
    q = make(rng, "numpy", "float32", "bhtd", 1, 2, 8, 16)
    k = np.broadcast_to(make(rng, "numpy", "float32", "bhtd", 1, 2, 8, 16), (3, 2, 8, 16))
    v = np.broadcast_to(make(rng, "numpy", "float32", "bhtd", 1, 2, 8, 16), (3, 2, 8, 16))
    q3 = np.broadcast_to(q, (3, 2, 8, 16))
    if tuple(int(x) for x in np.__version__.split(".")[:2]) < (2, 1):
        # numpy < 2.1 speaks DLPack 0.x only, which has no read-only flag: it refuses to export.
        with pytest.raises(TypeError, match="^q: the tensor could not be exported through DLPack: .*readonly"):
            attn.attention(q3, k, v, backend="sdpa-ref")
        return
    o = attn.attention(q3, k, v, backend="sdpa-ref", causal=True)
    want, _ = reference.attention(q3, k, v, causal=True)
    assert_close("O", o.astype(np.float64), want, "float32")


@pytest.mark.parametrize(
    "lib", ["numpy", pytest.param("torch", marks=pytest.mark.skipif(torch is None, reason="torch not installed"))]
)
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_empty_extents(backend: str, lib: str, rng: np.random.Generator) -> None:
    """An empty cache (Tk = 0: every row empty, O = 0, LSE = -inf), no queries (Tq = 0) and no
    batch (B = 0) are problems like any other; torch hands zero-element tensors over with a
    NULL data pointer, which libattn must not read as an absent tensor."""
    for B, Tq, Tk in ((2, 3, 0), (2, 0, 5), (0, 3, 5)):
        q = make(rng, lib, "float32", "bhtd", B, 4, Tq, 8)
        k = make(rng, lib, "float32", "bhtd", B, 2, Tk, 8)
        v = make(rng, lib, "float32", "bhtd", B, 2, Tk, 8)
        o, lse = attn.attention(q, k, v, backend=backend, causal=True, return_lse=True)
        assert tuple(o.shape) == (B, 4, Tq, 8) and tuple(lse.shape) == (B, 4, Tq)
        assert (to_numpy64(o) == 0).all() and (to_numpy64(lse) == -np.inf).all()
