"""attn.torch: the attn::attention custom op (fake implementation, torch.compile, no backward)
and sdpa_like.  Skipped as a whole without torch (CI installs numpy only; ATTN_PY_TORCH=1 adds
torch)."""

from __future__ import annotations

import shutil
from typing import Any, Dict

import pytest

torch = pytest.importorskip("torch", reason="torch not installed (ATTN_PY_TORCH=1 scripts/dev.sh python adds it)")
import torch.nn.functional as F  # noqa: E402

import attn  # noqa: E402
import attn.torch  # noqa: E402

CPU_BACKENDS = ["sdpa-ref", "synaptic-manual", "flex-cpu"]


def qkv(B: int = 2, Hq: int = 8, Hkv: int = 2, Tq: int = 5, Tk: int = 12, D: int = 32, Dv: int = 32,
        dtype: Any = torch.float32, seed: int = 0) -> Any:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, Hq, Tq, D, generator=g).to(dtype), torch.randn(B, Hkv, Tk, D, generator=g).to(dtype),
            torch.randn(B, Hkv, Tk, Dv, generator=g).to(dtype))


# attention() keyword sets the op must pass through unchanged: each compared with attn.attention
# on the same backend, bit for bit (the same backend on the same inputs is deterministic).
FEATURES: Dict[str, Dict[str, Any]] = {
    "chunk_causal": dict(causal=True),
    "ragged": dict(causal=True, q_len=[5, 2], kv_len=[12, 7]),
    "window_softcap": dict(causal=True, window=(3, 0), softcap=4.0),
    "alibi": dict(causal=True, alibi_slopes=[2.0 ** -(h + 1) for h in range(8)]),
    "documents_prefix": dict(causal=True, doc_q=[[0, 0, 1, 1, 1]] * 2, doc_k=[[0] * 6 + [1] * 6] * 2, prefix_len=[3, 0]),
    "synaptic": dict(causal=True, synaptic=attn.Synaptic(torch.rand(2, 8, 12), lam=0.5, eps=1e-5, beta=0.2)),
    "dropout_big_seed": dict(causal=True, dropout_p=0.3, seed=2**64 - 5, offset=7),
    "scale_lse": dict(scale=0.25, return_lse=True),
}


@pytest.mark.parametrize("feature", list(FEATURES))
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_op_is_attention(backend: str, feature: str) -> None:
    kw = FEATURES[feature]
    q, k, v = qkv()
    want = attn.attention(q, k, v, backend=backend, **kw)
    got = attn.torch.attention(q, k, v, backend=backend, **kw)
    if kw.get("return_lse"):
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    else:
        assert torch.equal(got, want)


def test_op_bthd_layout_and_strided_cache() -> None:
    cache = torch.randn(2, 20, 2, 32)  # [B, T, H, D]: a cache with room for 20 tokens, 12 used
    q = torch.randn(2, 5, 8, 32)
    k, v = cache[:, :12], cache[:, :12] * 1.5
    got = attn.torch.attention(q, k, v, causal=True, layout="bthd", backend="flex-cpu")
    assert got.shape == (2, 5, 8, 32)
    assert torch.equal(got, attn.attention(q, k, v, causal=True, layout="bthd", backend="flex-cpu"))


def test_fake_implementation_gives_shapes_dtypes_devices() -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        q, k, v = torch.empty(3, 6, 4, 16, dtype=torch.bfloat16), torch.empty(3, 2, 9, 16, dtype=torch.bfloat16), \
            torch.empty(3, 2, 9, 24, dtype=torch.bfloat16)
        o, lse = attn.torch.attention(q, k, v, causal=True, return_lse=True)
        assert o.shape == (3, 6, 4, 24) and o.dtype == torch.bfloat16 and o.device == q.device
        assert lse.shape == (3, 6, 4) and lse.dtype == torch.float32
        o = attn.torch.attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), layout="bthd")
        assert o.shape == (3, 4, 6, 24)
        with pytest.raises(ValueError, match="q: expected a 4-d tensor"):
            attn.torch.attention(q[0], k, v)


def test_opcheck() -> None:
    # torch's own checks of a custom op: schema, fake vs real outputs, AOT dispatch.
    q, k, v = qkv()
    args = (q, k, v, True, torch.tensor([5, 3], dtype=torch.int32), None, -1, -1, None, None, None, None, None, None,
            1.0, 1e-6, 0.1, 0.0, 0, 0, None, True, "bhtd", "flex-cpu", None)
    torch.library.opcheck(torch.ops.attn.attention.default, args)


def _model(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> Any:
    o, lse = attn.torch.attention(q, k, v, causal=True, kv_len=[12, 9], return_lse=True, backend="flex-cpu")
    return o * 2 + 1, lse.exp()


def _eager(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> Any:
    o, lse = attn.attention(q, k, v, causal=True, kv_len=[12, 9], return_lse=True, backend="flex-cpu")
    return o * 2 + 1, lse.exp()


def test_compile_fullgraph_aot_eager_with_dynamic_shapes() -> None:
    torch._dynamo.reset()
    compiled = torch.compile(_model, fullgraph=True, backend="aot_eager", dynamic=True)
    for Tk in (12, 16):  # a decode loop's growing cache: one graph, symbolic Tk in the fake impl
        q, k, v = qkv(Tk=Tk)
        for got, want in zip(compiled(q, k, v), _eager(q, k, v)):
            assert torch.equal(got, want)


@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                    reason="inductor's CPU code needs a C++ compiler")
def test_compile_fullgraph_inductor() -> None:
    # The default backend: Inductor generates C++ for the elementwise ops around the op (~20 s
    # of compiling on 2 cores) and calls attn::attention as an extern kernel.
    torch._dynamo.reset()
    compiled = torch.compile(_model, fullgraph=True)
    q, k, v = qkv()
    for got, want in zip(compiled(q, k, v), _eager(q, k, v)):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


def test_backward_raises_not_implemented() -> None:
    q, k, v = qkv()
    q.requires_grad_()
    o = attn.torch.attention(q, k, v, causal=True)
    assert o.requires_grad  # the op records itself ...
    with pytest.raises(NotImplementedError, match="has no backward yet"):
        o.sum().backward()  # ... and refuses the gradient, never a silent zero
    o, lse = attn.torch.attention(q, k, v, causal=True, return_lse=True)
    with pytest.raises(NotImplementedError, match="has no backward yet"):
        lse.sum().backward()
    assert q.grad is None
    with torch.no_grad():  # inference with tensors that require grad is fine
        assert torch.equal(attn.torch.attention(q, k, v, causal=True), attn.attention(q.detach(), k, v, causal=True))


@pytest.mark.filterwarnings("ignore:Error detected in GeneratedBackwardFor_attn_attention")
def test_compile_with_grad_fails_at_compile_time() -> None:
    # AOTAutograd traces the backward ahead of time, so the refusal comes while compiling.
    torch._dynamo.reset()
    q, k, v = qkv()
    q.requires_grad_()
    compiled = torch.compile(lambda q, k, v: attn.torch.attention(q, k, v, causal=True), fullgraph=True, backend="aot_eager")
    with pytest.raises(Exception, match="has no backward yet"):
        compiled(q, k, v)


# ---- sdpa_like ---------------------------------------------------------------------------------


def bottom_right_mask(Tq: int, Tk: int) -> torch.Tensor:
    return torch.ones(Tq, Tk, dtype=torch.bool).tril(diagonal=Tk - Tq)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_sdpa_like_matches_torch_sdpa(backend: str) -> None:
    tol = dict(atol=1e-5, rtol=0)  # float32, unit inputs: SPEC.md's float32 bound
    q, k, v = qkv(Hq=4, Hkv=4, Tq=9, Tk=9)
    torch.testing.assert_close(attn.torch.sdpa_like(q, k, v, is_causal=True, backend=backend),
                               F.scaled_dot_product_attention(q, k, v, is_causal=True), **tol)
    q, k, v = qkv(Hq=8, Hkv=2, Tq=5, Tk=12, Dv=16)  # GQA, bidirectional, Tq != Tk
    torch.testing.assert_close(attn.torch.sdpa_like(q, k, v, enable_gqa=True, backend=backend, scale=0.3),
                               F.scaled_dot_product_attention(q, k, v, enable_gqa=True, scale=0.3), **tol)
    # A chunk against a cache: bottom-right causal, which torch spells with an explicit mask.
    got = attn.torch.sdpa_like(q, k, v, is_causal=True, enable_gqa=True, backend=backend)
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v, attn_mask=bottom_right_mask(5, 12),
                                                                   enable_gqa=True), **tol)
    # ... and not torch's is_causal, which is top-left when Tq != Tk.
    top_left = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    assert (got - top_left).abs().max() > 0.1
    q3, k3, v3 = q[0], k[0], v[0]  # unbatched [H, T, D], as torch accepts
    torch.testing.assert_close(attn.torch.sdpa_like(q3, k3, v3, enable_gqa=True, backend=backend),
                               F.scaled_dot_product_attention(q3, k3, v3, enable_gqa=True), **tol)


def test_sdpa_like_refusals() -> None:
    q, k, v = qkv(Hq=8, Hkv=2)
    with pytest.raises(NotImplementedError, match="attn_mask: sdpa_like takes no"):
        attn.torch.sdpa_like(q, k, v, attn_mask=bottom_right_mask(5, 12), enable_gqa=True)
    with pytest.raises(ValueError, match="pass enable_gqa=True"):
        attn.torch.sdpa_like(q, k, v)
    with pytest.raises(ValueError, match="expected 4-d"):
        attn.torch.sdpa_like(q[0, 0], k[0, 0], v[0, 0], enable_gqa=True)
    with pytest.raises(ValueError, match="unknown backend name 'nope'"):
        attn.torch.sdpa_like(q, k, v, enable_gqa=True, backend="nope")


def test_sdpa_like_dropout_is_philox_not_torch_rng() -> None:
    q, k, v = qkv(Hq=8, Hkv=2)
    torch.manual_seed(1)
    a = attn.torch.sdpa_like(q, k, v, dropout_p=0.25, enable_gqa=True, seed=42)
    torch.manual_seed(2)  # torch's RNG plays no part
    b = attn.torch.sdpa_like(q, k, v, dropout_p=0.25, enable_gqa=True, seed=42)
    assert torch.equal(a, b)
    c = attn.torch.sdpa_like(q, k, v, dropout_p=0.25, enable_gqa=True, seed=43)
    assert not torch.equal(a, c)
    ref = attn.attention(q, k, v, dropout_p=0.25, seed=42, backend="sdpa-ref")
    torch.testing.assert_close(a, ref, atol=1e-5, rtol=0)
    assert not torch.allclose(a, attn.attention(q, k, v, backend="sdpa-ref"), atol=1e-3)  # it did drop


def test_sdpa_like_compiles() -> None:
    torch._dynamo.reset()
    q, k, v = qkv(Hq=8, Hkv=2)
    f = torch.compile(lambda q, k, v: attn.torch.sdpa_like(q, k, v, is_causal=True, enable_gqa=True, backend="sdpa-ref"),
                      fullgraph=True, backend="aot_eager")
    assert torch.equal(f(q, k, v), attn.attention(q, k, v, causal=True, backend="sdpa-ref"))


def test_refusals_cross_the_op_unchanged() -> None:
    # The dispatcher hands the Python exception back as it is, compiled or not: attn.Unsupported
    # with every candidate's reason, ValueError for a malformed call.
    q, k, v = qkv()
    reason = attn.check(q, k, v, backend="flex-cuda")
    assert reason  # not built here, or not on the tensors' device (CPU)
    for call in (lambda q, k, v: attn.torch.attention(q, k, v, backend="flex-cuda"),
                 torch.compile(lambda q, k, v: attn.torch.attention(q, k, v, backend="flex-cuda"), fullgraph=True,
                               backend="aot_eager")):
        with pytest.raises(attn.Unsupported) as info:
            call(q, k, v)
        assert list(info.value.candidates) == ["flex-cuda"] and str(info.value) == reason
    with pytest.raises(ValueError, match="q_len"):
        attn.torch.attention(q, k, v, q_len=[9, 1])  # Tq is 5
