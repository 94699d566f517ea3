"""attn: libattn's attention backends from Python.

    import attn
    o = attn.attention(q, k, v, causal=True)            # torch or numpy, zero-copy
    o, lse = attn.attention(q, k, v, backend="flex-cpu", return_lse=True)
    attn.backends()                                      # what loads, and why not
    attn.check(q, k, v, backend="flex-cpu")              # None, or the refusal's reason
    attn.matrix(rows="KV decode")                        # SPEC.md's table, as attnmatrix --format json
    import attn.torch                                    # the torch.library op, sdpa_like (needs torch)

Pure Python over ctypes: the bundled libattn (attn/_lib/lib) does the work, its plugins are
found next to it.  The problem contract is docs/SPEC.md of the repository.
"""

from typing import Any

from ._backends import BackendInfo, backends
from ._errors import AttnError, Unsupported
from ._lib import library_path
from ._matrix import matrix
from ._problem import Synaptic
from .api import attention, check

__version__ = "0.1.0"

__all__ = [
    "AttnError",
    "BackendInfo",
    "Synaptic",
    "Unsupported",
    "attention",
    "backends",
    "check",
    "library_path",
    "matrix",
]


def __getattr__(name: str) -> Any:
    # `attn.torch` after a plain `import attn`: imported on first use only, so that `import attn`
    # never imports torch.
    if name == "torch":
        import importlib

        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'attn' has no attribute {name!r}")
