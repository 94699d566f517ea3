"""attn.matrix: the masking/caching table of SPEC.md as plain Python data.

It runs the `attnmatrix` tool that the wheel ships beside libattn (attn/_lib/bin) with
`--format json --quiet` and parses what it prints.  Calling the tool, not re-implementing it,
is what makes the cells and reasons the same as `attnmatrix --format json`: the golden, the
tolerance and the verdicts live in C (harness/, tools/attnmatrix) and nowhere else.  It also
isolates the caller: a plugin that crashes takes down the tool, not the interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, List, Optional

from . import _errors, _lib
from ._backends import PathLike

_DTYPES = ("float32", "float16", "bfloat16")


def tool_path(name: str = "attnmatrix") -> str:
    """A tool of the wheel: pyproject.toml installs them in attn/_lib/bin, a sibling of the lib
    folder libattn is loaded from (they find libattn through their $ORIGIN/../lib rpath)."""
    libdir = os.path.dirname(_lib.library_path())
    path = os.path.join(os.path.dirname(libdir), "bin", name)
    if not os.access(path, os.X_OK):
        raise _errors.AttnError(
            f"{name}: the tool is not in the installed package ({path}); reinstall with `pip install ./python`"
        )
    return path


def _path_arg(name: str, value: Optional[PathLike]) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a path (str or os.PathLike) or None, got {type(value).__name__}")
    path = os.fspath(value)
    if not os.path.isfile(path):
        # The same exception as attn.attention(config=...) for a missing file.
        raise FileNotFoundError(f"{name}: file {path!r} does not exist")
    return path


def matrix(
    config: Optional[PathLike] = None,
    cases: Optional[PathLike] = None,
    rows: Optional[str] = None,
    dtype: Optional[str] = None,
    seeds: int = 1,
) -> Dict[str, Any]:
    """Every backend of `config` (the embedded default when None) over SPEC.md's table, checked
    against the float64 golden, as `attnmatrix --format json` prints it:

        {"backends": [name, ...],
         "rows": [{"case", "cells": {backend: "PASS"|"FAIL"|"SKIP"|...}, "reasons": {backend: text},
                   "max_err", "max_ratio": {backend: number}, "pairs": [{"a", "b", "max_diff"}],
                   "max_tolerance", "baseline_ratio", "instances", "dtypes", "note", "baseline_note"}, ...]}

    `cases` adds a YAML case file's cases (tests/matrix/*.yaml format), `rows` keeps the rows
    whose name contains that text, `dtype` keeps one dtype's instances, `seeds` runs each
    instance with that many input draws.  A failing cell is a result, not an exception (the
    tool's exit status 1); a bad argument or config (exit status 2) raises ValueError with the
    tool's message.
    """
    cmd: List[str] = [tool_path(), "--format", "json", "--quiet"]
    config_path = _path_arg("config", config)
    cases_path = _path_arg("cases", cases)
    if config_path is not None:
        cmd += ["--config", config_path]
    if cases_path is not None:
        cmd += ["--cases", cases_path]
    if rows is not None:
        if not isinstance(rows, str):
            raise TypeError(f"rows: expected a str (a part of the rows' names) or None, got {type(rows).__name__}")
        cmd += ["--rows", rows]
    if dtype is not None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype: expected one of {', '.join(_DTYPES)} or None, got {dtype!r}")
        cmd += ["--dtype", dtype]
    if isinstance(seeds, bool) or not isinstance(seeds, int):
        raise TypeError(f"seeds: expected an int, got {type(seeds).__name__}")
    if not 1 <= seeds <= 100000:  # the tool's own range
        raise ValueError(f"seeds: expected an int from 1 to 100000, got {seeds}")
    cmd += ["--seeds", str(seeds)]

    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    message = done.stderr.strip()
    if done.returncode == 2:
        # Bad usage or config: the tool's words ("attnmatrix: --rows 'x' selects no instance; ...").
        raise ValueError(message or f"attnmatrix refused its arguments: {' '.join(cmd[1:])}")
    if done.returncode not in (0, 1):
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        raise _errors.AttnError(f"attnmatrix failed ({how}): {message or 'no message'}")
    try:
        table = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise _errors.AttnError(f"attnmatrix printed something that is not JSON ({e}): {done.stdout[:200]!r}") from e
    if not isinstance(table, dict) or "rows" not in table or "backends" not in table:
        raise _errors.AttnError(f"attnmatrix printed JSON without 'backends' and 'rows': {done.stdout[:200]!r}")
    return table
