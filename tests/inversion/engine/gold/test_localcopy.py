"""Local path sources are copied with bounds: never the studio's own data, capped in size and file
count, caches skipped, special files left out, odd names and depths refused in one line, and no
partial copy left behind, even by a process that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inversion.engine.gold import sources
from inversion.engine.gold.errors import SourceError
from inversion.engine.gold.localcopy import CopyLimits, copy_tree

TEST = "def test_it():\n    pass\n"


def _project(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "test_it.py").write_text(TEST)
    return root


def test_a_tree_holding_the_data_dir_is_refused(tmp_path):
    data = tmp_path / "shared" / "studio-data"
    data.mkdir(parents=True)
    _project(tmp_path / "shared")
    with pytest.raises(SourceError, match="contains the studio's data directory"):
        copy_tree(tmp_path / "shared", tmp_path / "out", limits=CopyLimits(refuse=(data,)))
    snapshot = _project(data / "sources" / "earlier")
    with pytest.raises(SourceError, match="is inside the studio's data directory"):
        copy_tree(snapshot, tmp_path / "out2", limits=CopyLimits(refuse=(data,)))


def test_size_and_file_count_caps(tmp_path):
    src = _project(tmp_path / "src")
    (src / "big.bin").write_bytes(b"0" * 5000)
    with pytest.raises(SourceError, match="larger than 0 MB"):
        copy_tree(src, tmp_path / "a", limits=CopyLimits(max_bytes=4000))
    with pytest.raises(SourceError, match="more than 2 files"):
        copy_tree(src, tmp_path / "b", limits=CopyLimits(max_files=2))


def test_caches_are_skipped_special_files_left_out_and_progress_reported(tmp_path):
    src = _project(tmp_path / "src")
    for skipped in (".git", ".venv", "node_modules", "__pycache__"):
        (src / skipped).mkdir()
        (src / skipped / "junk").write_text("x")
    os.mkfifo(src / "pipe")
    (src / "link").symlink_to("pkg")
    seen = []
    count = copy_tree(src, tmp_path / "out", limits=CopyLimits(), progress=lambda f, b: seen.append((f, b)))
    out = tmp_path / "out"
    assert count == 2 and seen[-1] == (2, len("x = 1\n") + len(TEST))
    assert sorted(p.name for p in out.iterdir()) == ["link", "pkg", "test_it.py"]
    assert (out / "link").is_symlink() and os.readlink(out / "link") == "pkg"


def test_a_name_that_is_not_utf8_and_a_very_deep_tree_are_one_line_errors(tmp_path):
    src = _project(tmp_path / "src")
    bad = os.fsencode(src) + b"/caf\xe9.py"
    with open(bad, "w") as fh:
        fh.write("x = 1\n")
    with pytest.raises(SourceError, match=r"b'.*caf\\xe9.py' has a name that is not UTF-8"):
        copy_tree(src, tmp_path / "out", limits=CopyLimits())
    deep = _project(tmp_path / "deep")
    path = deep
    for i in range(10):
        path = path / f"d{i}"
    path.mkdir(parents=True)
    with pytest.raises(SourceError, match="nested deeper than 5 directories"):
        copy_tree(deep, tmp_path / "out2", limits=CopyLimits(max_depth=5))


def test_a_fetch_killed_midway_leaves_a_partial_copy_the_next_fetch_removes(tmp_path):
    src = _project(tmp_path / "src")
    for i in range(3000):
        (src / f"f{i}.txt").write_text("y" * 2000)
    dest = tmp_path / "sources"
    code = ("import sys; from pathlib import Path; from inversion.engine.gold import sources; "
            f"sources.fetch('path', {str(src)!r}, '', Path({str(dest)!r}))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[5])
    deadline = time.monotonic() + 30
    while not list(dest.glob(".fetch-*/src/f1*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p.name.split("-")[1] for p in dest.glob(".fetch-*")] == [str(proc.pid)]
    snap = sources.fetch("path", str(src), "", dest)
    assert not list(dest.glob(".fetch-*")) and snap.path.parent == dest
