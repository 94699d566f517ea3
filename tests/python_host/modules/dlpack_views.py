"""Proves the DLPack contract of python_host's tensors, then computes through numpy_sdpa.

numpy and torch ask for DLPack >= 1.0 capsules: O must come back writable and shared (a write
through one view shows in another), inputs read-only.  Any broken promise raises, and the cell
FAILs with the assertion's text.  Options: `examples`, the folder of numpy_sdpa.py; `torch: yes`
to check torch's view too where torch is installed (not under valgrind: torch's static
initialisers leak)."""
import sys

import numpy as np


class DlpackViews:
    def __init__(self, inner, torch):
        self.inner = inner
        self.torch = torch

    def device(self):
        return "cpu"

    def check(self, p):
        return self.inner.check(p)

    def run(self, p):
        for name in ("o", "lse"):
            t = getattr(p, name)
            if t is None:
                continue
            view = t.as_uint() if t.dtype == "bfloat16" else t
            a, b = np.from_dlpack(view), np.from_dlpack(view)  # two exports of one tensor
            assert a.flags.writeable, f"{name}: numpy's view is read-only"
            assert np.shares_memory(a, b), f"{name}: two views do not share memory"
            assert a.shape == t.shape, f"{name}: shape {a.shape} != {t.shape}"
            a.flat[0] = 0  # written through one view, seen through the other
            assert b.flat[0] == 0, f"{name}: a write through one view is not seen by another"
        q = np.from_dlpack(p.q.as_uint() if p.q.dtype == "bfloat16" else p.q)
        assert not q.flags.writeable, "q: an input came back writable"
        if self.torch and p.q.dtype != "bfloat16":
            try:
                import torch
            except ImportError:
                torch = None
            if torch is not None:
                o = torch.from_dlpack(p.o)
                assert o.data_ptr() == np.from_dlpack(p.o).ctypes.data, "torch's view is not numpy's memory"
        self.inner.run(p)


def create(options):
    sys.path.insert(0, options.pop("examples"))
    torch = options.pop("torch", "no") == "yes"
    import numpy_sdpa
    return DlpackViews(numpy_sdpa.create(options), torch)
