"""mask_mod and score_mod (SPEC.md, "Expressions"): expressions that spell a built-in feature give
its result, aux tensors are read in place against a numpy reference, errors name the argument,
and backends that do not read expressions refuse them (attn.Unsupported)."""

from __future__ import annotations

import gc
import re
from typing import Any, Dict, Optional, Sequence

import numpy as np
import pytest

import attn
import reference
from attn import _expr, _problem
from conftest import TOLERANCE, assert_close, small, to_numpy64, torch

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

# The backends that compute expressions (their plugin's `reads` lists mask_mod and score_mod);
# another CPU backend either computes them too (once taught) or refuses them.
READERS = ["sdpa-ref", "synaptic-manual"]

CAUSAL = "kv_idx <= q_idx"
T5_BIAS = "score + bias[h][clamp(q_idx - kv_idx, 0, 15)]"


def positions(B: int, Tq: int, Tk: int, q_len: Optional[Sequence[int]] = None,
              kv_len: Optional[Sequence[int]] = None) -> np.ndarray:
    """q_idx of each query, [B, Tq]: bottom-right aligned, kv_len[b] - q_len[b] + i (SPEC.md)."""
    ql = np.full(B, Tq) if q_len is None else np.asarray(q_len)
    kl = np.full(B, Tk) if kv_len is None else np.asarray(kv_len)
    return (kl - ql)[:, None] + np.arange(Tq)[None, :]


def t5_bias(table: np.ndarray, B: int, Tq: int, Tk: int, **lengths: Any) -> np.ndarray:
    """T5_BIAS's addend in numpy, [B, H, Tq, Tk]: table[h][clamp(q_idx - kv_idx, 0, 15)]."""
    rel = positions(B, Tq, Tk, **lengths)[:, :, None] - np.arange(Tk)[None, None, :]  # [B, Tq, Tk]
    rel = np.clip(rel, 0, table.shape[1] - 1)
    return np.stack([table[:, rel[b]] for b in range(B)]).astype(np.float64)


def _build(q: Any, k: Any, v: Any, **kw: Any) -> _problem.Prepared:
    """_problem.build with attention()'s defaults: the Prepared problem, to look inside."""
    args: Dict[str, Any] = dict(causal=False, q_len=None, kv_len=None, window=None, doc_q=None, doc_k=None,
                                prefix_len=None, softcap=None, alibi_slopes=None, synaptic=None, dropout_p=0.0,
                                seed=0, offset=0, scale=None, return_lse=False, layout="bhtd")
    args.update(kw)
    return _problem.build(q, k, v, **args)


def as_lib(x: np.ndarray, like: Any) -> Any:
    """x in the library of `like` (torch tensors share the numpy memory)."""
    return torch.from_numpy(x) if torch is not None and isinstance(like, torch.Tensor) else x


LIBS = ["numpy", pytest.param("torch", marks=needs_torch)]


# ---- Expressions that spell a built-in feature -------------------------------------------------


@pytest.mark.parametrize("Tq,Tk,lengths", [(8, 8, {}), (5, 12, {}), (5, 12, dict(q_len=[5, 2], kv_len=[12, 7]))],
                         ids=["square", "chunk", "ragged_chunk"])
def test_causal_mask_mod_is_causal_bit_for_bit(Tq: int, Tk: int, lengths: Dict[str, Any]) -> None:
    # q_idx is the query's bottom-right aligned position, so the same expression is causal for a
    # square problem, a chunk against a cache and ragged lengths alike.
    q, k, v = small(Tq=Tq, Tk=Tk)
    want_o, want_lse = attn.attention(q, k, v, causal=True, return_lse=True, backend="sdpa-ref", **lengths)
    got_o, got_lse = attn.attention(q, k, v, mask_mod=CAUSAL, return_lse=True, backend="sdpa-ref", **lengths)
    assert np.array_equal(got_o, want_o) and np.array_equal(got_lse, want_lse)


def test_softcap_as_score_mod_is_softcap() -> None:
    q, k, v = small()
    q = q * 40.0  # scores well beyond the cap, so that it matters
    want = attn.attention(q, k, v, causal=True, softcap=30.0, backend="sdpa-ref")
    got = attn.attention(q, k, v, causal=True, score_mod="30.0 * tanh(score / 30.0)", backend="sdpa-ref")
    # sdpa-ref computes both in float64 with the same operations: equal bit for bit.
    assert np.array_equal(got, want)
    assert np.abs(got - attn.attention(q, k, v, causal=True, backend="sdpa-ref")).max() > 1e-2


def test_mask_mod_composes_with_softcap() -> None:
    # Only score_mod excludes the built-in modifiers; a mask_mod goes with any of them.
    q, k, v = small()
    want = attn.attention(q, k, v, causal=True, softcap=2.0, backend="sdpa-ref")
    assert np.array_equal(attn.attention(q, k, v, mask_mod=CAUSAL, softcap=2.0, backend="sdpa-ref"), want)


def test_document_ids_from_an_int32_aux() -> None:
    q, k, v = small(Tq=12, Tk=12)
    doc = np.array([[0] * 5 + [1] * 7, [0] * 3 + [1] * 3 + [2] * 6], np.int32)
    want = attn.attention(q, k, v, causal=True, doc_q=doc, doc_k=doc, backend="sdpa-ref")
    got = attn.attention(q, k, v, causal=True, mask_mod="doc[b][q_idx] == doc[b][kv_idx]", aux={"doc": doc},
                         backend="sdpa-ref")
    assert np.array_equal(got, want)


# ---- Aux tensors against the numpy reference ---------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("causal", [False, True])
def test_t5_bias_table(lib: str, causal: bool) -> None:
    B, H, Tq, Tk = 2, 4, 12, 20  # q_idx - kv_idx runs from -19 to 19: clamped at both ends
    q, k, v = small(lib, Hq=H, Tq=Tq, Tk=Tk)
    table = np.random.default_rng(3).standard_normal((H, 16)).astype(np.float32)
    o, lse = attn.attention(q, k, v, causal=causal, score_mod=T5_BIAS, aux={"bias": as_lib(table, q)},
                            return_lse=True, backend="sdpa-ref")
    want_o, want_lse = reference.attention(to_numpy64(q), to_numpy64(k), to_numpy64(v), causal=causal,
                                           bias=t5_bias(table, B, Tq, Tk))
    assert_close("O", to_numpy64(o), want_o, "float32")
    assert_close("LSE", to_numpy64(lse), want_lse, "float32")


def test_t5_bias_table_with_ragged_lengths() -> None:
    B, H, Tq, Tk = 2, 4, 5, 12
    lengths = dict(q_len=[5, 2], kv_len=[12, 7])
    q, k, v = small(Hq=H, Tq=Tq, Tk=Tk)
    table = np.random.default_rng(4).standard_normal((H, 16)).astype(np.float32)
    o = attn.attention(q, k, v, causal=True, score_mod=T5_BIAS, aux={"bias": table}, backend="sdpa-ref", **lengths)
    want, _ = reference.attention(q, k, v, causal=True, bias=t5_bias(table, B, Tq, Tk, **lengths), **lengths)
    assert_close("O", to_numpy64(o), want, "float32")


def key_mask(B: int, H: int, Tq: int, Tk: int, keep: np.ndarray) -> np.ndarray:
    """keep [B, Tk] as the reference's [B, H, Tq, Tk] mask."""
    return np.broadcast_to(keep[:, None, None, :], (B, H, Tq, Tk))


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("dtype", ["bool", "uint8"])
def test_key_mask_from_a_bool_aux(lib: str, dtype: str) -> None:
    B, H, Tq, Tk = 2, 4, 6, 10
    q, k, v = small(lib, Hq=H, Tq=Tq, Tk=Tk)
    keep = np.random.default_rng(5).random((B, Tk)) > 0.4
    keep[1] = False  # batch 1 sees no key at all: empty rows, O = 0 and LSE = -inf
    aux = keep if dtype == "bool" else keep.astype(np.uint8) * 7  # nonzero is true
    o, lse = attn.attention(q, k, v, mask_mod="keep[b][kv_idx]", aux={"keep": as_lib(aux, q)}, return_lse=True,
                            backend="sdpa-ref")
    want_o, want_lse = reference.attention(to_numpy64(q), to_numpy64(k), to_numpy64(v),
                                           mask=key_mask(B, H, Tq, Tk, keep))
    assert_close("O", to_numpy64(o), want_o, "float32")
    assert_close("LSE", to_numpy64(lse), want_lse, "float32")
    assert (to_numpy64(o)[1] == 0).all() and np.isneginf(to_numpy64(lse)[1]).all()


def test_strided_aux_is_read_in_place() -> None:
    # A bool aux viewed with strides (every other column of a wider buffer), handed over as
    # uint8 without a copy: the result is that of the same mask made contiguous.
    B, H, Tq, Tk = 2, 4, 6, 10
    q, k, v = small(Hq=H, Tq=Tq, Tk=Tk)
    wide = np.random.default_rng(6).random((B, 2 * Tk)) > 0.5
    view = wide[:, ::2]
    assert not view.flags.c_contiguous
    got = attn.attention(q, k, v, mask_mod="keep[b][kv_idx]", aux={"keep": view}, backend="sdpa-ref")
    want = attn.attention(q, k, v, mask_mod="keep[b][kv_idx]", aux={"keep": view.copy()}, backend="sdpa-ref")
    assert np.array_equal(got, want)
    p = _build(q, k, v, mask_mod="keep[b][kv_idx]", aux={"keep": view})
    dl = p.problem.aux[0]
    assert dl.data + dl.byte_offset == view.__array_interface__["data"][0]  # the caller's memory, not a copy
    assert (dl.dtype.code, dl.dtype.bits) == (1, 8) and dl.strides[1] == 2  # uint8, the view's strides



def test_expressions_live_as_long_as_the_problem() -> None:
    q, k, v = small()
    _expr._parse.cache_clear()
    p = _build(q, k, v, mask_mod=CAUSAL, score_mod="score * 0.5")
    kept = [x for x in p.keep if isinstance(x, _expr.Expression)]
    assert sorted(x.pointer for x in kept) == sorted((p.problem.mask_mod, p.problem.score_mod))
    # A second problem with the same texts reuses the parsed expressions (a decode loop parses once).
    p2 = _build(q, k, v, mask_mod=CAUSAL, score_mod="score * 0.5")
    assert p2.problem.mask_mod == p.problem.mask_mod and _expr._parse.cache_info().hits == 2
    finalizers = [x._finalizer for x in kept]
    del kept
    _expr._parse.cache_clear()
    del p
    gc.collect()
    assert all(f.alive for f in finalizers)  # p2 still holds them
    del p2
    gc.collect()
    assert not any(f.alive for f in finalizers)  # freed with the last problem that read them


# ---- Backends ----------------------------------------------------------------------------------


def expression_case() -> Dict[str, Any]:
    """A problem with a mask_mod and a score_mod, both reading aux tensors, and its reference."""
    B, H, Tq, Tk = 2, 4, 6, 20
    q, k, v = small(Hq=H, Tq=Tq, Tk=Tk)
    rng = np.random.default_rng(8)
    table = rng.standard_normal((H, 16)).astype(np.float32)
    keep = rng.random((B, Tk)) > 0.3
    kw = dict(causal=True, mask_mod="keep[b][kv_idx] && q_idx - kv_idx < 12", score_mod=T5_BIAS,
              aux={"keep": keep, "bias": table})
    window = (positions(B, Tq, Tk)[:, :, None] - np.arange(Tk)[None, None, :]) < 12
    mask = key_mask(B, H, Tq, Tk, keep) & window[:, None]
    want, _ = reference.attention(q, k, v, causal=True, mask=mask, bias=t5_bias(table, B, Tq, Tk))
    return dict(q=q, k=k, v=v, kw=kw, want=want)


def test_synaptic_manual_equals_sdpa_ref() -> None:
    c = expression_case()
    ref = attn.attention(c["q"], c["k"], c["v"], backend="sdpa-ref", **c["kw"])
    got = attn.attention(c["q"], c["k"], c["v"], backend="synaptic-manual", **c["kw"])
    assert_close("synaptic-manual vs sdpa-ref", to_numpy64(got), to_numpy64(ref), "float32")
    assert_close("synaptic-manual vs reference", to_numpy64(got), c["want"], "float32")


@pytest.mark.parametrize("backend", ["sdpa-ref", "synaptic-manual", "flex-cpu", "flex-cuda"])
def test_each_backend_computes_or_refuses(backend: str) -> None:
    # A backend that reads expressions computes them; any other refuses the problem with
    # libattn's "not implemented" (never computes without them), and one that is not loaded or
    # not on the CPU is refused as before.
    c = expression_case()
    info = {b.name: b for b in attn.backends()}[backend]
    if not info.loaded or info.device != "cpu":
        with pytest.raises(attn.Unsupported, match=f"^{backend}: "):
            attn.attention(c["q"], c["k"], c["v"], backend=backend, **c["kw"])
        return
    try:
        got = attn.attention(c["q"], c["k"], c["v"], backend=backend, **c["kw"])
    except attn.Unsupported as e:
        assert backend not in READERS, f"{backend} reads expressions, but refused: {e}"
        assert re.match(f"^{backend}: not implemented: the problem sets (mask_mod|score_mod)", str(e)), str(e)
        assert list(e.candidates) == [backend]
        assert attn.check(c["q"], c["k"], c["v"], backend=backend, **c["kw"]) == str(e)
        return
    assert_close(backend, to_numpy64(got), c["want"], "float32")
    assert attn.check(c["q"], c["k"], c["v"], backend=backend, **c["kw"]) is None


def test_auto_skips_a_backend_that_does_not_read_expressions(tmp_path) -> None:
    # flex-cpu first: it is skipped while it does not read expressions, or computes them once it does.
    config = tmp_path / "flex_first.yaml"
    config.write_text(
        "backends:\n"
        "  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n"
        "  - {name: flex-cpu, plugin: attn_flex_cpu, optional: true}\n"
        "priority: [flex-cpu, sdpa-ref]\n"
    )
    c = expression_case()
    got = attn.attention(c["q"], c["k"], c["v"], config=config, **c["kw"])
    assert_close("auto", to_numpy64(got), c["want"], "float32")
    assert attn.check(c["q"], c["k"], c["v"], config=config, **c["kw"]) is None

    only_flex = tmp_path / "only_flex.yaml"
    only_flex.write_text(
        "backends:\n"
        "  - {name: flex-cpu, plugin: attn_flex_cpu, optional: true}\n"
        "priority: [flex-cpu]\n"
    )
    try:
        got = attn.attention(c["q"], c["k"], c["v"], config=only_flex, **c["kw"])
    except attn.Unsupported as e:  # flex-cpu does not read expressions (or is not built)
        assert str(e).startswith("no backend accepts this problem: flex-cpu: ")
        assert list(e.candidates) == ["flex-cpu"]
        reason = e.candidates["flex-cpu"]
        assert "not implemented" in reason or "not available" in reason, reason
    else:
        assert_close("flex-cpu", to_numpy64(got), c["want"], "float32")


# ---- Errors ------------------------------------------------------------------------------------


def test_parse_errors_carry_libattns_message() -> None:
    q, k, v = small()
    message = "mask_mod: column 11: unknown name 'q_id' (did you mean 'q_idx'?)"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        attn.attention(q, k, v, mask_mod="kv_idx <= q_id")
    with pytest.raises(ValueError, match="^" + re.escape("mask_mod: column 1: 'score' is only defined in a score_mod")):
        attn.attention(q, k, v, mask_mod="score > 0.0")
    with pytest.raises(ValueError, match="^score_mod: column 1: a score_mod must be a number, got a bool"):
        attn.attention(q, k, v, score_mod="kv_idx <= q_idx")
    with pytest.raises(ValueError, match="^score_mod: column 16: '//' by the constant 0"):
        attn.attention(q, k, v, score_mod="score + kv_idx // 0")
    with pytest.raises(TypeError, match=r"^mask_mod: expected an expression \(str\), got int"):
        attn.attention(q, k, v, mask_mod=1)
    with pytest.raises(ValueError, match="^score_mod: the expression contains a NUL character"):
        attn.attention(q, k, v, score_mod="score\0")
    # check() parses too: a malformed expression is an error, not a refusal.
    with pytest.raises(ValueError, match="^mask_mod: column 11: unknown name 'q_id'"):
        attn.check(q, k, v, mask_mod="kv_idx <= q_id")


def test_missing_and_mismatched_aux() -> None:
    q, k, v = small(Hq=4, Tq=8, Tk=8)
    keep = np.ones((2, 8), bool)
    with pytest.raises(ValueError, match=r"^mask_mod: column 1: unknown name 'keep'"):
        attn.attention(q, k, v, mask_mod="keep[b][kv_idx]")
    with pytest.raises(ValueError, match=r"^mask_mod: column 1: unknown name 'kep' \(did you mean 'keep'\?\)"):
        attn.attention(q, k, v, mask_mod="kep[b][kv_idx]", aux={"keep": keep})
    with pytest.raises(ValueError, match=r"^mask_mod: column 1: 'keep' has rank 2, indexed with 1 index"):
        attn.attention(q, k, v, mask_mod="keep[kv_idx]", aux={"keep": keep})
    # The dtype declares the type: a bool table is no number.
    with pytest.raises(ValueError, match=r"^score_mod: column 7: '\+' needs numbers, got a bool"):
        attn.attention(q, k, v, score_mod="score + keep[b][kv_idx]", aux={"keep": keep})
    # An index outside the tensor is an error of the run (SPEC.md "Errors at run time").
    with pytest.raises(ValueError, match=r"^sdpa-ref: .*mask_mod: an aux index outside its tensor"):
        attn.attention(q, k, v, mask_mod="keep[b][kv_idx + 1]", aux={"keep": keep}, backend="sdpa-ref")
    # ... unless a guard holds there.
    attn.attention(q, k, v, mask_mod="kv_idx + 1 < 8 && keep[b][kv_idx + 1]", aux={"keep": keep}, backend="sdpa-ref")


def test_bad_aux_names_and_tensors() -> None:
    q, k, v = small()
    keep = np.ones((2, 8), bool)
    m = "keep[b][kv_idx]"
    with pytest.raises(TypeError, match=r"^aux: expected a mapping of names to tensors \(a dict\), got list"):
        attn.attention(q, k, v, mask_mod=m, aux=[keep])
    with pytest.raises(TypeError, match="^aux: expected names of type str, got int 3"):
        attn.attention(q, k, v, mask_mod=m, aux={3: keep})
    with pytest.raises(ValueError, match=r"^aux\['2x'\]: the name must be an identifier"):
        attn.attention(q, k, v, mask_mod=m, aux={"2x": keep})
    with pytest.raises(ValueError, match=r"^aux\['q_idx'\]: 'q_idx' is a variable or function of expressions"):
        attn.attention(q, k, v, mask_mod=m, aux={"q_idx": keep})
    with pytest.raises(TypeError, match=r"^aux\['keep'\]: expected dtype float32 \(read as a float\), int32 .*got float64"):
        attn.attention(q, k, v, mask_mod=m, aux={"keep": keep.astype(np.float64)})
    with pytest.raises(TypeError, match=r"^aux\['keep'\]: expected a torch.Tensor or numpy.ndarray, got builtins.list"):
        attn.attention(q, k, v, mask_mod=m, aux={"keep": keep.tolist()})
    with pytest.raises(ValueError, match=r"^aux\['keep'\]: expected a tensor of rank 0 to 4, got shape \[1, 1, 1, 2, 8\]"):
        attn.attention(q, k, v, mask_mod=m, aux={"keep": keep[None, None, None]})
    with pytest.raises(ValueError, match=r"^aux 'keep': stride 1 is negative"):  # libattn's own check
        attn.attention(q, k, v, mask_mod=m, aux={"keep": keep[:, ::-1]})
    too_many = {f"t{i}": keep for i in range(17)}
    with pytest.raises(ValueError, match="^aux: at most 16 tensors, got 17"):
        attn.attention(q, k, v, mask_mod=m, aux=too_many)
    with pytest.raises(ValueError, match=r"^aux: given without mask_mod or score_mod"):
        attn.attention(q, k, v, aux={"keep": keep})
    if torch is not None:
        with pytest.raises(TypeError, match=r"^aux\['keep'\]: expected a numpy tensor like q, got torch.Tensor"):
            attn.attention(q, k, v, mask_mod=m, aux={"keep": torch.from_numpy(keep)})


def test_score_mod_excludes_the_built_in_modifiers() -> None:
    q, k, v = small()
    s = "score * 0.5"
    with pytest.raises(ValueError, match=r"^score_mod, softcap: score_mod replaces the built-in score modifiers"):
        attn.attention(q, k, v, score_mod=s, softcap=30.0)
    with pytest.raises(ValueError, match=r"^score_mod, alibi_slopes: "):
        attn.attention(q, k, v, score_mod=s, alibi_slopes=[0.5] * 4)
    with pytest.raises(ValueError, match=r"^score_mod, synaptic: "):
        attn.attention(q, k, v, score_mod=s, synaptic=np.ones((2, 4, 8), np.float32))


# ---- torch -------------------------------------------------------------------------------------


@needs_torch
def test_torch_aux_that_requires_grad_is_refused() -> None:
    q, k, v = small("torch")
    table = torch.zeros(4, 16, requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"^aux\['bias'\]: requires grad"):
        attn.attention(q, k, v, score_mod=T5_BIAS, aux={"bias": table})
    with torch.no_grad():
        attn.attention(q, k, v, score_mod=T5_BIAS, aux={"bias": table}, backend="sdpa-ref")


@needs_torch
@pytest.mark.parametrize("backend", READERS)
def test_op_passes_expressions_and_aux(backend: str) -> None:
    import attn.torch

    q, k, v = small("torch", Tq=6, Tk=20)
    table = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    keep = torch.rand(2, 20, generator=torch.Generator().manual_seed(2)) > 0.3
    kw = dict(causal=True, mask_mod="keep[b][kv_idx]", score_mod=T5_BIAS, aux={"bias": table, "keep": keep},
              return_lse=True)
    want = attn.attention(q, k, v, backend=backend, **kw)
    got = attn.torch.attention(q, k, v, backend=backend, **kw)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


@needs_torch
def test_op_opcheck_and_compile_with_expressions() -> None:
    import attn.torch

    q, k, v = small("torch", Tq=6, Tk=20)
    table, keep = torch.randn(4, 16), torch.rand(2, 20) > 0.3
    args = (q, k, v, True, None, None, -1, -1, None, None, None, None, None, None, 1.0, 1e-6, 0.1, 0.0, 0, 0, None,
            True, "bhtd", "sdpa-ref", None, "keep[b][kv_idx]", T5_BIAS, [table, keep], "bias,keep")
    torch.library.opcheck(torch.ops.attn.attention.default, args)

    def step(q: Any, k: Any, v: Any, table: Any, keep: Any) -> Any:
        return attn.torch.attention(q, k, v, causal=True, mask_mod="keep[b][kv_idx]", score_mod=T5_BIAS,
                                    aux={"bias": table, "keep": keep}, backend="sdpa-ref")

    compiled = torch.compile(step, backend="aot_eager", fullgraph=True)
    assert torch.equal(compiled(q, k, v, table, keep), step(q, k, v, table, keep))


@needs_torch
def test_op_argument_errors() -> None:
    import attn.torch

    q, k, v = small("torch")
    with pytest.raises(TypeError, match=r"^aux\['keep'\]: attn.torch takes torch.Tensor, got numpy.ndarray"):
        attn.torch.attention(q, k, v, mask_mod="keep[b][kv_idx]", aux={"keep": np.ones((2, 8), bool)})
    with pytest.raises(ValueError, match=r"^aux\['a,b'\]: the name must be an identifier"):
        attn.torch.attention(q, k, v, mask_mod="true", aux={"a,b": torch.ones(2)})
    with pytest.raises(TypeError, match=r"^score_mod: expected an expression \(str\), got float"):
        attn.torch.attention(q, k, v, score_mod=0.5)
    with pytest.raises(ValueError, match="^mask_mod: column 11: unknown name 'q_id'"):
        attn.torch.attention(q, k, v, mask_mod="kv_idx <= q_id")
    with pytest.raises(ValueError, match=r"^aux_names: 1 names \('x'\) for 2 aux tensors"):
        torch.ops.attn.attention(q, k, v, False, None, None, -1, -1, None, None, None, None, None, None, 1.0, 1e-6,
                                 0.1, 0.0, 0, 0, None, False, "bhtd", "sdpa-ref", None, "x[0] > 0", None,
                                 [torch.ones(2), torch.ones(2)], "x")


@needs_torch
def test_boolean_sdpa_mask_as_mask_mod() -> None:
    # torch SDPA's boolean attn_mask [B, H, Tq, Tk], read through an aux tensor: the recipe
    # sdpa_like's refusal of attn_mask points at.
    import attn.torch
    import torch.nn.functional as F

    q, k, v = small("torch", Hq=4, Hkv=4, Tq=5, Tk=12)
    mask = torch.rand(2, 4, 5, 12, generator=torch.Generator().manual_seed(3)) > 0.5
    mask[..., 0] = True  # no empty row: torch's SDPA gives NaN there, libattn 0
    got = attn.torch.attention(q, k, v, mask_mod="m[b][h][q_idx - (12 - 5)][kv_idx]", aux={"m": mask})
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                               atol=TOLERANCE["float32"], rtol=0)
