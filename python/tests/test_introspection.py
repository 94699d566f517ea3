"""attn.backends() and attn.check()."""

from __future__ import annotations

import os

import attn
from conftest import small


def test_backends_lists_the_default_config() -> None:
    infos = attn.backends()
    names = [b.name for b in infos]
    assert names == ["sdpa-ref", "synaptic-manual", "flex-cpu", "flex-cuda"]
    by_name = {b.name: b for b in infos}
    for name in ("sdpa-ref", "synaptic-manual", "flex-cpu"):
        b = by_name[name]
        assert b.loaded and b.error is None, f"{name}: {b.error}"
        assert b.device == "cpu" and b.abi_version and b.abi_version.startswith("1.")
        assert b.plugin_path and os.path.isfile(b.plugin_path)
        # The plugins come from the package's own folder, beside its libattn.
        assert os.path.dirname(b.plugin_path) == os.path.join(os.path.dirname(attn.library_path()), "attn", "plugins")
        assert b.describe and "float32" in b.describe
        assert b.plugin_version and b.description
    cuda = by_name["flex-cuda"]
    if not cuda.loaded:  # not built (no nvcc), or no GPU here: the reason says which
        assert cuda.error and cuda.status


def test_check_answers_without_computing() -> None:
    q, k, v = small()
    assert attn.check(q, k, v, backend="sdpa-ref", causal=True) is None
    assert attn.check(q, k, v) is None
    reason = attn.check(q, k, v, backend="flex-cuda")
    assert isinstance(reason, str) and reason.startswith("flex-cuda: ")


def test_check_rejects_unknown_keywords() -> None:
    q, k, v = small()
    try:
        attn.check(q, k, v, casual=True)
    except TypeError as e:
        assert "casual" in str(e)
    else:
        raise AssertionError("a misspelt keyword must not be ignored")


def test_import_attn_imports_no_torch() -> None:
    # attn.torch is imported on first use only; numpy-only installs (CI) never need torch.
    import subprocess
    import sys

    code = "import sys, attn; attn.matrix; attn.backends(); assert 'torch' not in sys.modules, 'torch imported'"
    # cwd="/": never the source folder python/, whose attn has no bundled libattn
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
