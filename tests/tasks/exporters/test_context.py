"""The exported build context holds the same files the gold build sent, so the harness rebuilds the
environment the verifier's manifest describes."""

from __future__ import annotations

import io
import tarfile

from inversion.engine.gold.build import write_context
from inversion.engine.gold.dockerfile import SOURCE_DIR
from tasks.exporters.context import build_context


def test_the_export_ships_the_files_the_gold_build_sent_stray_bytecode_included(tmp_path):
    """funcy's sdist ships `tests/__init__.pyc`; the export left it out, so in real Harbor the
    verifier found it "removed" and refused to grade even the oracle (reward 0 on all 5 tasks)."""
    snap = tmp_path / "snap"
    (snap / "pkg" / "__pycache__").mkdir(parents=True)
    (snap / "tests").mkdir()
    (snap / "pkg" / "__init__.py").write_text("X = 1\n")
    (snap / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"cache")  # never sent
    (snap / "tests" / "__init__.pyc").write_bytes(b"\x00stray")
    (snap / "setup.py").write_text("")
    buf = io.BytesIO()
    dockerfile = f"FROM base\nCOPY {SOURCE_DIR}/ /testbed/\n"
    write_context(snap, dockerfile, b"", buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        sent = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name != "Dockerfile"}
    exported = build_context(dockerfile=dockerfile, snapshot=str(snap))
    assert f"{SOURCE_DIR}/tests/__init__.pyc" in sent
    assert {name: data for name, (data, _) in exported.items()} == sent
