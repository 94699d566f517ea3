"""Bad inputs: each raises its exception, naming the argument and what was expected, before C
sees anything; refusals are attn.Unsupported with the library's reason."""

from __future__ import annotations

import numpy as np
import pytest

import attn
from conftest import small, torch

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def test_wrong_rank() -> None:
    q, k, v = small()
    with pytest.raises(ValueError, match=r"^q: expected a rank-4 tensor \[B, H, T, D\].*got shape \[2, 4, 8\]"):
        attn.attention(q[:, :, :, 0], k, v)
    with pytest.raises(ValueError, match=r"^v: expected a rank-4 tensor \[B, T, H, D\] \(layout='bthd'\)"):
        attn.attention(q, k, v[0], layout="bthd")


def test_mismatched_dtypes() -> None:
    q, k, v = small()
    with pytest.raises(TypeError, match="^k: expected q's dtype float32, got float16"):
        attn.attention(q, k.astype(np.float16), v)
    with pytest.raises(TypeError, match="^q: expected dtype float32, float16 or bfloat16, got float64"):
        attn.attention(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64))


def test_mismatched_libraries() -> None:
    q, k, v = small()
    if torch is not None:
        with pytest.raises(TypeError, match="^v: expected a numpy tensor like q, got torch.Tensor"):
            attn.attention(q, k, torch.from_numpy(v))


def test_unsupported_library_and_non_tensors() -> None:
    q, k, v = small()

    class Foreign:  # speaks DLPack, but attn cannot allocate its outputs
        def __dlpack__(self, **kwargs):  # pragma: no cover - never reached
            return q.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return q.__dlpack_device__()

    with pytest.raises(TypeError, match="^q: .*Foreign speaks DLPack.*supports torch.Tensor or numpy.ndarray"):
        attn.attention(Foreign(), k, v)
    with pytest.raises(TypeError, match="^k: expected a torch.Tensor or numpy.ndarray, got builtins.list"):
        attn.attention(q, k.tolist(), v)


def test_shapes_that_do_not_fit() -> None:
    q, k, v = small(Hq=6, Hkv=4)
    with pytest.raises(ValueError, match=r"^k: the number of query heads \(6\) must be a multiple of .* \(4\)"):
        attn.attention(q, k, v)
    q, k, v = small()
    with pytest.raises(ValueError, match=r"^k: expected head dim 16 \(q's\), got 8"):
        attn.attention(q, k[..., :8], v)
    with pytest.raises(ValueError, match=r"^v: expected 2 heads and 8 keys \(k's\), got 2 heads and 5 keys"):
        attn.attention(q, k, v[:, :, :5])
    with pytest.raises(ValueError, match=r"^k: expected batch size 2 \(q's\), got 1"):
        attn.attention(q, k[:1], v[:1])


def test_lengths_out_of_range() -> None:
    q, k, v = small(Tq=4, Tk=8)
    with pytest.raises(ValueError, match=r"^q_len: q_len\[1\] = 5 is outside \[0, Tq = 4\]"):
        attn.attention(q, k, v, q_len=[4, 5])
    with pytest.raises(ValueError, match=r"^kv_len: kv_len\[0\] = -1 is outside \[0, Tk = 8\]"):
        attn.attention(q, k, v, kv_len=[-1, 3])
    with pytest.raises(ValueError, match=r"^kv_len: expected 2 values \(one per batch\), got 3"):
        attn.attention(q, k, v, kv_len=[1, 2, 3])
    with pytest.raises(ValueError, match=r"^prefix_len: prefix_len\[0\] = -2 is negative"):
        attn.attention(q, k, v, causal=True, prefix_len=[-2, 0])
    with pytest.raises(TypeError, match=r"^q_len: expected integers, got 1.5"):
        attn.attention(q, k, v, q_len=[1.5, 2])
    with pytest.raises(TypeError, match=r"^q_len: expected a sequence of integers, one per batch, got int"):
        attn.attention(q, k, v, q_len=3)


def test_other_arguments() -> None:
    q, k, v = small()
    with pytest.raises(ValueError, match="^layout: expected 'bhtd' or 'bthd', got 'bhdt'"):
        attn.attention(q, k, v, layout="bhdt")
    with pytest.raises(ValueError, match=r"^softcap, alibi_slopes: at most one score modifier"):
        attn.attention(q, k, v, softcap=1.0, alibi_slopes=[1.0] * 4)
    with pytest.raises(ValueError, match=r"^softcap: expected a finite number > 0, got -1.0"):
        attn.attention(q, k, v, softcap=-1.0)
    with pytest.raises(ValueError, match=r"^alibi_slopes: expected shape \[4\] \(float32 \[Hq\] slopes\), got \[3\]"):
        attn.attention(q, k, v, alibi_slopes=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^synaptic.w: expected shape \[2, 4, 8\]"):
        attn.attention(q, k, v, synaptic=np.ones((2, 4, 7), np.float32))
    with pytest.raises(ValueError, match=r"^dropout_p: expected a number in \[0, 1\), got 1.0"):
        attn.attention(q, k, v, dropout_p=1.0)
    with pytest.raises(ValueError, match=r"^seed: expected an integer in \[0, 18446744073709551615\], got -1"):
        attn.attention(q, k, v, seed=-1)
    with pytest.raises(ValueError, match=r"^window\[0\]: expected an integer in \[-1, "):
        attn.attention(q, k, v, window=(-2, 0))
    with pytest.raises(TypeError, match=r"^window: expected \(left, right\)"):
        attn.attention(q, k, v, window=3)
    with pytest.raises(ValueError, match=r"^doc_q, doc_k: document ids need both"):
        attn.attention(q, k, v, doc_q=np.zeros((2, 8), np.int32))
    with pytest.raises(ValueError, match=r"^doc_k: expected shape \[2, 8\]"):
        attn.attention(q, k, v, doc_q=np.zeros((2, 8), np.int32), doc_k=np.zeros((2, 9), np.int32))
    with pytest.raises(ValueError, match=r"^scale: expected a finite nonzero number"):
        attn.attention(q, k, v, scale=float("nan"))


def test_negative_strides_are_refused_by_libattn_not_read() -> None:
    """A view libattn cannot take is refused with its reason (never read as if compact)."""
    q, k, v = small()
    with pytest.raises(ValueError, match=r"^q: stride 2 is negative"):
        attn.attention(q[:, :, ::-1], k, v, backend="sdpa-ref")


def test_unknown_backend_and_missing_config(tmp_path) -> None:
    q, k, v = small()
    with pytest.raises(ValueError, match=r"^backend: unknown backend name 'nope'; the embedded default config has: sdpa-ref, "):
        attn.attention(q, k, v, backend="nope")
    with pytest.raises(TypeError, match=r"^backend: expected 'auto' or a backend name"):
        attn.attention(q, k, v, backend=3)
    missing = tmp_path / "missing.yaml"
    with pytest.raises(FileNotFoundError, match=r"^config: file '.*missing.yaml' does not exist"):
        attn.attention(q, k, v, config=missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends:\n  - name: x\n    plugn: attn_sdpa_ref\n")
    with pytest.raises(ValueError, match=r"^config: .*bad.yaml.*plugn"):
        attn.attention(q, k, v, config=bad)


def test_refusal_carries_the_reason_named_and_auto(tmp_path) -> None:
    q, k, v = small()
    # flex-cuda never takes CPU tensors: not built, no GPU, or a CUDA device that is not q's.
    with pytest.raises(attn.Unsupported, match="^flex-cuda: ") as named:
        attn.attention(q, k, v, backend="flex-cuda")
    assert list(named.value.candidates) == ["flex-cuda"] and named.value.reason.startswith("flex-cuda: ")
    assert isinstance(named.value, attn.AttnError)

    only_cuda = tmp_path / "only_cuda.yaml"
    only_cuda.write_text(
        "backends:\n"
        "  - {name: sdpa-ref, plugin: attn_sdpa_ref}\n"
        "  - {name: gpu, plugin: attn_flex_cuda, optional: true}\n"
        "priority: [gpu]\n"
    )
    with pytest.raises(attn.Unsupported, match="^no backend accepts this problem: gpu: ") as auto:
        attn.attention(q, k, v, config=only_cuda)
    assert list(auto.value.candidates) == ["gpu"]
    # The same config pinned to a name outside the priority list still runs it.
    assert attn.attention(q, k, v, config=only_cuda, backend="sdpa-ref").shape == (2, 4, 8, 16)


@needs_torch
def test_autograd_is_refused_not_silently_wrong() -> None:
    q, k, v = small("torch")
    q.requires_grad_(True)
    with pytest.raises(NotImplementedError, match="^q: requires grad, but attn.attention has no backward yet"):
        attn.attention(q, k, v)
    with torch.no_grad():
        o = attn.attention(q, k, v)
    assert not o.requires_grad


@needs_torch
def test_device_without_dlpack_form() -> None:
    q, k, v = small("torch")
    with pytest.raises(TypeError, match="^q: the tensor's device cannot be expressed in DLPack"):
        attn.attention(q.to("meta"), k, v)
