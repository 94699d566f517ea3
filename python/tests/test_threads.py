"""Calls from several Python threads at once: libattn allows one thread per backend instance at
a time and ctypes releases the GIL, so attn serialises each instance; results stay right."""

from __future__ import annotations

import threading

import numpy as np

import attn
import reference
from conftest import CPU_BACKENDS, assert_close, make


def test_concurrent_calls_give_the_reference_answer(rng: np.random.Generator) -> None:
    problems = []
    for n in range(6):
        q = make(rng, "numpy", "float32", "bhtd", 2, 4, 3 + n, 16)
        k = make(rng, "numpy", "float32", "bhtd", 2, 2, 9 + n, 16, extra=2)
        v = make(rng, "numpy", "float32", "bhtd", 2, 2, 9 + n, 16, extra=2)
        problems.append((q, k, v, reference.attention(q, k, v, causal=True)[0]))
    failures = []

    def worker(seed: int) -> None:
        try:
            for i in range(30):
                q, k, v, want = problems[(seed + i) % len(problems)]
                backend = (CPU_BACKENDS + ["auto"])[(seed * 7 + i) % 4]
                got = attn.attention(q, k, v, causal=True, backend=backend)
                assert_close(f"thread {seed} call {i} ({backend})", got.astype(np.float64), want, "float32")
        except Exception as e:  # collected: an assertion in a thread does not fail the test by itself
            failures.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
