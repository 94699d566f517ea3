"""mask_mod and score_mod (SPEC.md, "Expressions"): parsing with libattn's attn_expr_parse, and
the rules for the names and dtypes of the aux tensors an expression reads.

A parsed expression is an attn_expr that libattn allocated; an Expression object owns it and
frees it (attn_expr_free) when the last reference to the object goes.  A Prepared problem keeps
the Expressions its struct points at in `Prepared.keep`, beside the tensors, so an expression
lives exactly as long as the inputs of the call that reads it.

Parsing is cached per (text, kind, declared aux tensors): a decode loop that passes the same
expression at every step parses it once.
"""

from __future__ import annotations

import ctypes
import functools
import re
import weakref
from typing import Any, Tuple

from . import _errors, _lib

# An aux tensor's dtype (as _dlpack.View names it) -> the expression type it is read as.  libattn
# takes uint8 for a bool; a bool tensor is handed over as uint8 (same bytes, 0 or 1).
AUX_TYPES = {
    "float32": _lib.ATTN_EXPR_FLOAT,
    "int32": _lib.ATTN_EXPR_INT,
    "uint8": _lib.ATTN_EXPR_BOOL,
    "bool": _lib.ATTN_EXPR_BOOL,
}
AUX_DTYPES_TEXT = "float32 (read as a float), int32 (an int), or bool / uint8 (a bool, nonzero is true)"

# What an aux tensor may not be called: the expressions' variables, functions and literal words
# (core/expr/names.c).
RESERVED_NAMES = frozenset(
    ("b", "h", "q_idx", "kv_idx", "score", "true", "false",
     "where", "min", "max", "clamp", "abs", "exp", "log", "tanh", "sqrt")
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_KINDS = {"mask_mod": _lib.ATTN_EXPR_MASK, "score_mod": _lib.ATTN_EXPR_SCORE}

# The aux tensors an expression may read: (name, ATTN_EXPR_* type, rank) of each.
Declared = Tuple[Tuple[str, int, int], ...]


class Expression:
    """One parsed expression: `pointer` is the attn_expr * for attn_problem.mask_mod/score_mod."""

    def __init__(self, pointer: int, text: str) -> None:
        self.pointer = pointer
        self.text = text
        # A finalizer rather than __del__: it also runs at interpreter exit, with _lib still there.
        self._finalizer = weakref.finalize(self, _lib.lib().attn_expr_free, pointer)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def check_aux_name(name: Any) -> str:
    """An aux tensor's name: an identifier that is not a name of the expression language."""
    if not isinstance(name, str):
        raise TypeError(f"aux: expected names of type str, got {type(name).__name__} {name!r}")
    if not _IDENTIFIER.match(name):
        raise ValueError(
            f"aux[{name!r}]: the name must be an identifier (ASCII letters, digits and '_', not starting with a digit)"
        )
    if name in RESERVED_NAMES:
        raise ValueError(f"aux[{name!r}]: '{name}' is a variable or function of expressions; name the tensor otherwise")
    return name


def parse(text: Any, argname: str, declared: Declared) -> Expression:
    """`text` parsed and type-checked as `argname` ("mask_mod" or "score_mod"), with the aux
    tensors `declared`.  A malformed expression raises ValueError with libattn's message, which
    names the column: "mask_mod: column 11: unknown name 'q_id' (did you mean 'q_idx'?)"."""
    if not isinstance(text, str):
        raise TypeError(f"{argname}: expected an expression (str), got {type(text).__name__}")
    if "\0" in text:
        raise ValueError(f"{argname}: the expression contains a NUL character")
    return _parse(text, argname, declared)


@functools.lru_cache(maxsize=256)
def _parse(text: str, argname: str, declared: Declared) -> Expression:
    # A raised error is not cached, only parsed expressions.
    table = (_lib.AttnExprAux * max(len(declared), 1))(
        *[_lib.AttnExprAux(name.encode("ascii"), kind, rank) for name, kind, rank in declared]
    )
    out = ctypes.c_void_p()
    err = _lib.AttnError()
    status = _lib.lib().attn_expr_parse(
        text.encode("utf-8"), _KINDS[argname], table, len(declared), ctypes.byref(out), ctypes.byref(err)
    )
    if status == _lib.ATTN_E_INVALID:
        raise ValueError(f"{argname}: {err.text()}")
    _errors.raise_for(status, err)
    return Expression(out.value, text)
