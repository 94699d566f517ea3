"""attn.matrix(): the attnmatrix tool of the wheel, its JSON as Python data, its exit statuses as
results or exceptions.  Needs no torch.  Rows are filtered: the whole table takes ~15 s here."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

import attn
import attn._matrix

CPU_BACKENDS = ["sdpa-ref", "synaptic-manual", "flex-cpu"]


def test_the_tool_is_found_beside_libattn() -> None:
    path = attn._matrix.tool_path()
    assert os.path.dirname(os.path.dirname(path)) == os.path.dirname(os.path.dirname(attn.library_path()))
    assert os.access(path, os.X_OK)


def test_a_row_as_python_data() -> None:
    table = attn.matrix(rows="KV decode", dtype="float32")
    assert table["backends"] == ["sdpa-ref", "synaptic-manual", "flex-cpu", "flex-cuda"]
    # --rows keeps the rows whose name contains the text: one row here.
    names = [r["case"] for r in table["rows"]]
    assert names == ["KV decode (Tq==1)"], names
    row = table["rows"][0]
    for key in ("cells", "reasons", "max_err", "max_ratio", "pairs", "max_tolerance", "baseline_ratio",
                "instances", "dtypes", "note", "baseline_note"):
        assert key in row, key
    for name in CPU_BACKENDS:
        assert row["cells"][name] == "PASS", (name, row["reasons"].get(name))
        assert 0 <= row["max_ratio"][name] < 1, (name, row["max_ratio"][name])
    assert row["dtypes"] == "float32"
    if row["cells"]["flex-cuda"] == "SKIP":  # not built or no GPU here: the reason says which
        assert row["reasons"]["flex-cuda"]


def test_the_same_cells_and_reasons_as_the_tool() -> None:
    args = ["--format", "json", "--quiet", "--rows", "GQA", "--dtype", "bfloat16", "--seeds", "2"]
    done = subprocess.run([attn._matrix.tool_path(), *args], capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    # The numbers are deterministic (fixed seeds, no timings): the whole table is equal.
    assert attn.matrix(rows="GQA", dtype="bfloat16", seeds=2) == json.loads(done.stdout)


def test_seeds_multiply_the_instances() -> None:
    one = attn.matrix(rows="Causal full-seq", dtype="float32")["rows"][0]["instances"]
    three = attn.matrix(rows="Causal full-seq", dtype="float32", seeds=3)["rows"][0]["instances"]
    assert one >= 1 and three == 3 * one


def test_a_failing_cell_is_a_result_not_an_exception(tmp_path: Path) -> None:
    # Q.K past 2^64: the instance cannot be judged, so every cell that ran FAILs (exit status 1).
    cases = tmp_path / "unjudgeable.yaml"
    cases.write_text('cases:\n  - {row: "Scale 1e9", q_len: 64, kv_len: 64, head_dim: 64, causal: true, input_scale: 1e9}\n')
    table = attn.matrix(cases=cases, rows="Scale 1e9")
    row = table["rows"][0]
    assert row["case"] == "Scale 1e9"
    for name in CPU_BACKENDS:
        assert row["cells"][name] == "FAIL"
        assert "cannot be judged" in row["reasons"][name]


def test_bad_arguments_raise_value_error_with_the_tools_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="selects no instance; the rows are: 'Causal full-seq'"):
        attn.matrix(rows="no such row")
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends:\n  - name: x\n    plugin: attn_no_such_plugin\n")
    with pytest.raises(ValueError, match=r"bad.yaml:3:\d+: key 'plugin': backend 'x': plugin 'attn_no_such_plugin' not found"):
        attn.matrix(config=bad, rows="KV decode")
    with pytest.raises(ValueError, match="dtype: expected one of float32, float16, bfloat16"):
        attn.matrix(dtype="float64")
    with pytest.raises(ValueError, match="seeds: expected an int from 1 to 100000, got 0"):
        attn.matrix(seeds=0)
    with pytest.raises(TypeError, match="seeds: expected an int"):
        attn.matrix(seeds="2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rows: expected a str"):
        attn.matrix(rows=3)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="config: file"):
        attn.matrix(config=tmp_path / "missing.yaml")
    with pytest.raises(FileNotFoundError, match="cases: file"):
        attn.matrix(cases=tmp_path / "missing.yaml")


def _fake_tool(tmp_path: Path, body: str) -> str:
    path = tmp_path / "attnmatrix"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_crashed_or_garbled_tool_is_an_attn_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attn._matrix, "tool_path", lambda: _fake_tool(tmp_path, "echo boom >&2; kill -SEGV $$"))
    with pytest.raises(attn.AttnError, match=r"attnmatrix failed \(signal 11\): boom"):
        attn.matrix()
    monkeypatch.setattr(attn._matrix, "tool_path", lambda: _fake_tool(tmp_path, "echo '{not json'"))
    with pytest.raises(attn.AttnError, match="not JSON"):
        attn.matrix()
