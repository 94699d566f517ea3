"""The ctypes mirrors of _lib.py against the C headers the bundled libattn was built from: every
struct's size and every field's offset, from a C compiler.  Skipped where there is none."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest

import attn
from attn import _lib

# ctypes mirror -> C type name; the field names are the C ones.
STRUCTS = {
    _lib.DLDevice: "DLDevice",
    _lib.DLDataType: "DLDataType",
    _lib.DLTensor: "DLTensor",
    _lib.DLManagedTensor: "DLManagedTensor",
    _lib.AttnOption: "attn_option",
    _lib.AttnProblem: "attn_problem",
    _lib.AttnExprAux: "attn_expr_aux",
    _lib.AttnExpr: "attn_expr",
    _lib.AttnError: "attn_error",
    _lib.AttnBackendSpec: "attn_backend_spec",
    _lib.AttnConfig: "attn_config",
    _lib.AttnSelectionEntry: "attn_selection_entry",
    _lib.AttnSelectionReport: "attn_selection_report",
}
# Mirrors of a struct's leading fields only: offsets compared, not the size.
HEADS = {_lib.AttnPluginApiHead: "attn_plugin_api"}


def test_struct_layouts_match_the_headers(tmp_path) -> None:
    cc = shutil.which(os.environ.get("CC", "cc"))
    include = os.path.join(os.path.dirname(attn.library_path()), "..", "include")
    if cc is None or not os.path.isfile(os.path.join(include, "attn", "host", "attn_select.h")):
        pytest.skip("no C compiler, or the package was installed without its headers")
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "attn/host/attn_select.h"', "int main(void) {"]
    expected = []
    for struct, cname in list(STRUCTS.items()) + list(HEADS.items()):
        if struct not in HEADS:
            lines.append(f'printf("%zu\\n", sizeof({cname}));')
            expected.append(f"sizeof {cname} = {ctypes.sizeof(struct)}")
        for field, *_ in struct._fields_:
            lines.append(f'printf("%zu\\n", offsetof({cname}, {field}));')
            expected.append(f"{cname}.{field} at {getattr(struct, field).offset}")
    lines.append("return 0; }")
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=gnu11", "-I", include, str(source), "-o", str(exe)], check=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    want = [e.rsplit(" ", 1)[1] for e in expected]
    mismatches = [f"{e}, C says {g}" for e, g, w in zip(expected, got, want) if g != w]
    assert len(got) == len(want) and not mismatches, mismatches
