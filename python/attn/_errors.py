"""The exceptions of the attn package and the mapping of libattn's attn_status onto them."""

from __future__ import annotations

from typing import Dict, Optional

from . import _lib


class AttnError(Exception):
    """A libattn call failed.  `status` is the attn_status name (e.g. "ATTN_E_DEVICE") and the
    message is the library's own text (attn_error.message)."""

    def __init__(self, message: str, status: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status


class Unsupported(AttnError):
    """A backend (or, for backend="auto", every candidate) refused a well-formed problem.

    `reason` is the refusal's text.  `candidates` maps each candidate's name to its reason, in the
    order they were tried, for backend="auto"; for a named backend it holds that one entry."""

    def __init__(self, reason: str, candidates: Optional[Dict[str, str]] = None, status: Optional[str] = None) -> None:
        super().__init__(reason, status)
        self.reason = reason
        self.candidates: Dict[str, str] = dict(candidates or {})


# Statuses that mean "this backend cannot do this", as opposed to a malformed call or a failure.
_REFUSALS = (_lib.ATTN_E_UNSUPPORTED, _lib.ATTN_E_NOT_APPLICABLE, _lib.ATTN_E_UNAVAILABLE)


def raise_for(status: int, err: "_lib.AttnError", candidates: Optional[Dict[str, str]] = None) -> None:
    """Turns a non-OK attn_status into the exception that carries the library's message.

    ATTN_E_INVALID reaches this point only for what the Python checks do not cover (they run
    first), and is still the caller's mistake: ValueError.  Refusals become Unsupported;
    everything else (load, device, memory, internal) is an AttnError."""
    if status == _lib.ATTN_OK:
        return
    message = err.text() or _lib.status_name(status)
    name = _lib.status_name(status)
    if status in _REFUSALS:
        raise Unsupported(message, candidates, name)
    if status == _lib.ATTN_E_INVALID:
        raise ValueError(message)
    if status == _lib.ATTN_E_NOMEM:
        raise MemoryError(message)
    raise AttnError(message, name)
