"""The exported build context holds the same files the gold build sent, so the harness rebuilds the
environment the verifier's manifest describes."""

from __future__ import annotations

import io
import tarfile

from inversion.engine.gold.build import write_context
from inversion.engine.gold.dockerfile import SOURCE_DIR
from tasks.exporters.base import LINK
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


def test_the_export_ships_the_links_the_gold_build_sent_as_links(tmp_path):
    """A git or local source can hold links (`docs/README.md -> ../README.md`); the gold's COPY copied
    them as links, so an export without them rebuilds an image the verifier finds changed."""
    snap = tmp_path / "snap"
    (snap / "docs").mkdir(parents=True)
    (snap / "README.md").write_text("# hi\n")
    (snap / "docs" / "README.md").symlink_to("../README.md")
    (snap / "docs" / "gone").symlink_to("../nowhere")  # dangling: still a link in the gold image
    buf = io.BytesIO()
    dockerfile = f"FROM base\nCOPY {SOURCE_DIR}/ /testbed/\n"
    write_context(snap, dockerfile, b"", buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        links = {m.name: m.linkname.encode() for m in tar.getmembers() if m.issym()}
    exported = build_context(dockerfile=dockerfile, snapshot=str(snap))
    assert links == {f"{SOURCE_DIR}/docs/README.md": b"../README.md", f"{SOURCE_DIR}/docs/gone": b"../nowhere"}
    assert {name: item for name, item in exported.items() if item[1] == LINK} == {n: (t, LINK) for n, t in links.items()}
