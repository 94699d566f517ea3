"""attn: libattn's attention backends from Python.

    import attn
    o = attn.attention(q, k, v, causal=True)            # torch or numpy, zero-copy
    o, lse = attn.attention(q, k, v, backend="flex-cpu", return_lse=True)
    attn.backends()                                      # what loads, and why not
    attn.check(q, k, v, backend="flex-cpu")              # None, or the refusal's reason

Pure Python over ctypes: the bundled libattn (attn/_lib/lib) does the work, its plugins are
found next to it.  The problem contract is docs/SPEC.md of the repository.
"""

from ._backends import BackendInfo, backends
from ._errors import AttnError, Unsupported
from ._lib import library_path
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
]
