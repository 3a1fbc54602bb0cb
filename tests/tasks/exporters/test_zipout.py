"""The export zip keeps file modes, and unpacking it the studio's way keeps them too."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

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
