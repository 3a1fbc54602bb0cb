"""The export zip keeps file modes, and unpacking it the studio's way keeps them too."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from tasks.exporters.base import LINK
from tasks.exporters.zipout import extract, write_zip


def test_an_executable_project_script_stays_executable(tmp_path):
    buf = io.BytesIO()
    write_zip({"env/src/run.sh": (b"#!/bin/sh\n", 0o755), "env/src/mod.py": (b"x = 1\n", 0o644)}, buf)
    zipfile.ZipFile(io.BytesIO(buf.getvalue())).extractall(tmp_path / "plain")
    assert not os.access(tmp_path / "plain/env/src/run.sh", os.X_OK)  # why extract() exists
    extract(io.BytesIO(buf.getvalue()), tmp_path / "kept")
    assert (tmp_path / "kept/env/src/run.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "kept/env/src/mod.py").stat().st_mode & 0o777 == 0o644


def test_a_member_outside_the_target_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../escape.txt", b"no")
    with pytest.raises(ValueError, match="unsafe member"):
        extract(io.BytesIO(buf.getvalue()), tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_a_link_comes_back_as_a_link_and_never_carries_files_below_it(tmp_path):
    buf = io.BytesIO()
    write_zip({"env/src/README": (b"hi\n", 0o644), "env/src/docs/README": (b"../README", LINK)}, buf)
    extract(io.BytesIO(buf.getvalue()), tmp_path / "kept")
    assert os.readlink(tmp_path / "kept/env/src/docs/README") == "../README"
    assert (tmp_path / "kept/env/src/docs/README").read_text() == "hi\n"
    (tmp_path / "outside").mkdir()
    buf = io.BytesIO()
    write_zip({"env/up": (str(tmp_path / "outside").encode(), LINK), "env/up/evil.txt": (b"no", 0o644)}, buf)
    with pytest.raises(ValueError, match="link with files below it"):
        extract(io.BytesIO(buf.getvalue()), tmp_path / "out")
    assert not (tmp_path / "outside" / "evil.txt").exists()
