"""Fetch a repository's sources into an immutable snapshot directory on the studio host.

Three kinds, all validated before anything is kept: a PyPI sdist (`pip download`, sha256 kept),
a git URL at a ref (the resolved commit sha kept), a local directory (copied; tree hash kept).
Errors are `SourceError` with the form field they belong to, so forms and the CLI can say
exactly what is wrong. Fetching happens in a temporary directory that is moved into place only
when the source is valid, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SKIP_DIRS = {".git", ".hg", "__pycache__", ".venv", "venv", ".tox", "node_modules", ".mypy_cache", ".pytest_cache"}
FETCH_TIMEOUT = 300


class SourceError(Exception):
    """Bad input: `field` names the form field (kind, location, ref, name)."""

    def __init__(self, message: str, field: str = "location") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class Snapshot:
    path: Path
    resolved: str
    summary: dict = field(default_factory=dict)


def fetch(kind: str, location: str, ref: str, dest_root: Path) -> Snapshot:
    """Fetch into a fresh directory under `dest_root`; raises SourceError on bad input."""
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest_root))
    try:
        src = {"pypi": _fetch_pypi, "git": _fetch_git, "path": _fetch_path}[kind](location, ref, tmp)
        summary = detect_layout(src)
        if not summary["test_files"]:
            raise SourceError("no tests found (no test_*.py or *_test.py files)", "location")
        resolved = summary.pop("resolved", "") or tree_hash(src)
        final = dest_root / f"{kind}-{_slug(location)}-{resolved[:12]}"
        if final.exists():
            shutil.rmtree(final)
        src.rename(final)
        return Snapshot(final, resolved, summary)
    except KeyError as exc:
        raise SourceError(f"unknown source kind {kind!r}", "kind") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", Path(text.rstrip("/")).name).strip("-").lower()[:40] or "src"


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=FETCH_TIMEOUT, env=env)
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"{args[0]} timed out after {FETCH_TIMEOUT} s") from exc


def _fetch_pypi(name: str, version: str, tmp: Path) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name or ""):
        raise SourceError(f"{name!r} is not a valid package name", "location")
    if not version:
        raise SourceError("a PyPI source needs an exact version (name==version)", "ref")
    dl = tmp / "download"
    args = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", name,
            "-d", str(dl), f"{name}=={version}"]
    proc = _run(args)
    if proc.returncode != 0:
        err = proc.stderr
        if "from versions: none" in err or "No matching distribution" in err and "from versions" not in err:
            raise SourceError(f"package {name!r} was not found on the index", "location")
        if "Could not find a version" in err or "No matching distribution" in err:
            found = re.search(r"\(from versions: ([^)]*)\)", err)
            versions = found.group(1).split(", ")[-5:] if found else []
            hint = f" (latest: {', '.join(versions)})" if versions else ""
            raise SourceError(f"{name} has no source distribution for version {version!r}{hint}", "ref")
        raise SourceError(f"pip download failed: {_last_line(err)}", "location")
    archives = [p for p in dl.iterdir() if p.is_file()]
    if len(archives) != 1:
        raise SourceError(f"expected one sdist, pip downloaded {len(archives)} files")
    archive = archives[0]
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = _unpack(archive, tmp / "unpacked")
    (tmp / "resolved").write_text(sha)
    out = tmp / "src"
    root.rename(out)
    (out / ".studio-sdist").write_text(f"{archive.name} sha256:{sha}\n")
    return out


def _unpack(archive: Path, into: Path) -> Path:
    into.mkdir()
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise SourceError(f"unsafe path in sdist: {member}")
            zf.extractall(into)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    entries = list(into.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


def _fetch_git(url: str, ref: str, tmp: Path) -> Path:
    if not url:
        raise SourceError("a git source needs a URL", "location")
    if not ref:
        raise SourceError("a git source needs a ref (branch, tag or commit)", "ref")
    out = tmp / "src"
    proc = _run(["git", "clone", "--quiet", "--no-checkout", url, str(out)])
    if proc.returncode != 0:
        raise SourceError(f"could not clone {url}: {_last_line(proc.stderr)}", "location")
    sha = ""
    for candidate in (ref, f"origin/{ref}"):
        found = _run(["git", "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], cwd=out)
        if found.returncode == 0:
            sha = found.stdout.strip()
            break
    if not sha:
        raise SourceError(f"ref {ref!r} does not exist in {url}", "ref")
    checkout = _run(["git", "checkout", "--quiet", "--detach", sha], cwd=out)
    if checkout.returncode != 0:
        raise SourceError(f"could not check out {sha}: {_last_line(checkout.stderr)}", "ref")
    shutil.rmtree(out / ".git")
    (tmp / "resolved").write_text(sha)
    return out


def _fetch_path(location: str, ref: str, tmp: Path) -> Path:
    src = Path(location).expanduser()
    if not src.is_absolute():
        raise SourceError(f"{location!r} is not an absolute path", "location")
    if not src.is_dir():
        raise SourceError(f"{location} is not a directory", "location")
    out = tmp / "src"
    shutil.copytree(src, out, symlinks=True, ignore=lambda d, names: [n for n in names if n in SKIP_DIRS])
    if (src / ".git").exists():
        head = _run(["git", "rev-parse", "HEAD"], cwd=src)
        if head.returncode == 0:
            (out / ".studio-git-head").write_text(head.stdout.strip() + "\n")
    return out


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("WARNING")]
    return (lines[-1] if lines else "no output")[:300]


def iter_files(root: Path):
    """Files of a snapshot in a stable order, skipping VCS and cache directories."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            yield Path(dirpath) / name


def tree_hash(root: Path) -> str:
    """sha256 over relative paths, modes and contents: equal trees give equal hashes."""
    digest = hashlib.sha256()
    for path in iter_files(root):
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"L" + os.readlink(path).encode())
        else:
            digest.update(b"X" if os.access(path, os.X_OK) else b"F")
            digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def detect_layout(root: Path) -> dict:
    """What the studio needs to know before building: test files and packaging files."""
    tests = []
    for path in iter_files(root):
        name = path.name
        if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
            tests.append(path.relative_to(root).as_posix())
    packaging = [n for n in ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini") if (root / n).exists()]
    resolved_file = root.parent / "resolved"
    summary = {"test_files": tests[:500], "test_file_count": len(tests), "packaging": packaging}
    if resolved_file.exists():
        summary["resolved"] = resolved_file.read_text().strip()
    head = root / ".studio-git-head"
    if head.exists():
        summary["git_head"] = head.read_text().strip()
    return summary
