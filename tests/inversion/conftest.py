"""Fixtures of the inversion tests: a local git repository to fetch (no network needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def _git(*args: str, cwd: Path, date: str = "") -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def bare_repo(tmp_path) -> tuple[str, str, str]:
    """A file:// bare repository with two commits; returns (url, first sha, second sha)."""
    work = tmp_path / "work"
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    (work / "test_a.py").write_text("def test_a():\n    assert True\n")
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "one", cwd=work)
    first = _git("rev-parse", "HEAD", cwd=work)
    _git("tag", "v1", cwd=work)
    (work / "test_b.py").write_text("def test_b():\n    assert True\n")
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "two", cwd=work)
    second = _git("rev-parse", "HEAD", cwd=work)
    bare = tmp_path / "proj.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return f"file://{bare}", first, second


def git_repo_of(source: Path, into: Path, *, date: str) -> str:
    """A file:// bare repository of `source`'s files, committed at `date` (an old release)."""
    import shutil

    work = into / "work"
    shutil.copytree(source, work)
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "release", cwd=work, date=date)
    bare = into / f"{source.name}.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=into)
    return f"file://{bare}"
