"""Shared helpers: inputs in either layout and library, strided cache views, tolerances."""

from __future__ import annotations

import os
import sys
from typing import Any, Tuple

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # reference.py sits beside the tests

try:
    import torch
except ImportError:  # numpy-only runs (no torch wheel) still test everything numpy can express
    torch = None

CPU_BACKENDS = ["sdpa-ref", "synaptic-manual", "flex-cpu"]

# (library, dtype) pairs; numpy has no bfloat16.
FLAVOURS = [
    ("numpy", "float32"),
    ("numpy", "float16"),
    pytest.param("torch", "float32", marks=pytest.mark.skipif(torch is None, reason="torch not installed")),
    pytest.param("torch", "float16", marks=pytest.mark.skipif(torch is None, reason="torch not installed")),
    pytest.param("torch", "bfloat16", marks=pytest.mark.skipif(torch is None, reason="torch not installed")),
]

# Allowed error, relative to max(1, max|reference|); the reference reads the same rounded inputs.
# float32: SPEC.md's "looser than 1e-5 hides bugs" (the backends land near 5e-7).  Half types:
# 4 ulps (2^-8 for bfloat16, 2^-11 for float16): the output's own rounding plus P rounded to the
# dtype before P.V in the materialised backends (seen: 1.3 ulps).  LSE is float32 whatever the
# inputs, and is held to the float32 bound.
TOLERANCE = {"float32": 1e-5, "float16": 4 * 2.0**-11, "bfloat16": 4 * 2.0**-8}


def make(rng: np.random.Generator, lib: str, dtype: str, layout: str, B: int, H: int, T: int, D: int, extra: int = 0) -> Any:
    """A [B, H, T, D] tensor in `layout`; with extra > 0 a view of the first T positions of a
    longer cache buffer (strided, as a KV cache is read in decode)."""
    shape = (B, H, T + extra, D) if layout == "bhtd" else (B, T + extra, H, D)
    base = rng.standard_normal(shape).astype(np.float32)
    t = base.astype(dtype) if lib == "numpy" else torch.from_numpy(base).to(getattr(torch, dtype))
    return t[:, :, :T] if layout == "bhtd" else t[:, :T]


def to_numpy64(t: Any) -> np.ndarray:
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().to(torch.float64).numpy()
    return np.asarray(t, dtype=np.float64)


def to_bhtd64(t: Any, layout: str) -> np.ndarray:
    a = to_numpy64(t)
    return a if layout == "bhtd" else a.transpose(0, 2, 1, 3)


def assert_close(name: str, got: np.ndarray, want: np.ndarray, dtype: str) -> None:
    """Within tolerance where the reference is finite; exactly -inf where it is -inf (LSE of an
    empty row); never NaN."""
    assert not np.isnan(got).any(), f"{name}: NaN in the result"
    finite = np.isfinite(want)
    assert np.array_equal(np.isfinite(got), finite), f"{name}: non-finite entries differ from the reference"
    assert (got[~finite] == want[~finite]).all(), f"{name}: infinities differ from the reference"
    if finite.any():
        err = np.abs(got[finite] - want[finite]).max()
        bound = TOLERANCE[dtype] * max(1.0, np.abs(want[finite]).max())
        assert err <= bound, f"{name}: max error {err:.3g} > {bound:.3g} ({dtype})"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def small(lib: str = "numpy", dtype: str = "float32", layout: str = "bhtd", Hq: int = 4, Hkv: int = 2,
          Tq: int = 8, Tk: int = 8, D: int = 16) -> Tuple[Any, Any, Any]:
    r = np.random.default_rng(7)
    return (make(r, lib, dtype, layout, 2, Hq, Tq, D), make(r, lib, dtype, layout, 2, Hkv, Tk, D),
            make(r, lib, dtype, layout, 2, Hkv, Tk, D))
