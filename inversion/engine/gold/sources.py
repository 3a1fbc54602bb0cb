"""Fetch a repository's sources into an immutable snapshot directory on the studio host.

Three kinds, all validated before anything is kept: a PyPI sdist (found through the index's JSON
API, sha256-checked, never executed: `pypi.py`), a git URL at a ref (the resolved commit sha kept),
a local directory (a bounded copy: `localcopy.py`; tree hash kept).
Errors are `SourceError` with the form field they belong to, so forms and the CLI can say
exactly what is wrong. Fetching happens in a temporary directory that is moved into place only
when the source is valid, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inversion.engine.gold import pypi
from inversion.engine.gold.errors import SourceError
from inversion.engine.gold.localcopy import SKIP_DIRS, CopyLimits, copy_tree

FETCH_TIMEOUT = 300
DEFAULT_INDEX = "https://pypi.org/simple"


@dataclass
class Snapshot:
    path: Path
    resolved: str
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FetchOptions:
    index: str = DEFAULT_INDEX
    copy_limits: CopyLimits = field(default_factory=CopyLimits)
    progress: Callable[[str], None] = lambda line: None


def fetch(kind: str, location: str, ref: str, dest_root: Path, options: FetchOptions | None = None) -> Snapshot:
    """Fetch into a fresh directory under `dest_root`; raises SourceError on bad input. The partial
    copy is removed whatever happens (and one left by a killed process is swept next time)."""
    options = options or FetchOptions()
    fetchers = {"pypi": _fetch_pypi, "git": _fetch_git, "path": _fetch_path}
    if kind not in fetchers:
        raise SourceError(f"unknown source kind {kind!r}", "kind")
    dest_root.mkdir(parents=True, exist_ok=True)
    sweep_partial(dest_root)
    tmp = Path(tempfile.mkdtemp(prefix=f".fetch-{os.getpid()}-", dir=dest_root))
    try:
        src = fetchers[kind](location, ref, tmp, options)
        summary = detect_layout(src)
        if not summary["test_files"]:
            raise SourceError("no tests found (no test_*.py or *_test.py files)", "location")
        resolved = summary.pop("resolved", "") or tree_hash(src)
        summary.update(json.loads((tmp / "meta.json").read_text()) if (tmp / "meta.json").exists() else {})
        final = dest_root / f"{kind}-{_slug(location)}-{resolved[:12]}"
        if final.exists():
            shutil.rmtree(final)
        src.rename(final)
        return Snapshot(final, resolved, summary)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sweep_partial(dest_root: Path) -> int:
    """Remove `.fetch-<pid>-*` directories whose process is gone (killed mid-fetch)."""
    removed = 0
    for path in dest_root.glob(".fetch-*"):
        pid = path.name.split("-")[1] if path.name.count("-") >= 2 else ""
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", Path(text.rstrip("/")).name).strip("-").lower()[:40] or "src"


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=FETCH_TIMEOUT, env=env)
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"{args[0]} timed out after {FETCH_TIMEOUT} s") from exc


def _fetch_pypi(name: str, version: str, tmp: Path, options: FetchOptions) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name or ""):
        raise SourceError(f"{name!r} is not a valid package name", "location")
    if not version:
        raise SourceError("a PyPI source needs an exact version (name==version)", "ref")
    options.progress(f"looking up {name}=={version} on {options.index}")
    sdist = pypi.find_sdist(options.index, name, version)
    options.progress(f"downloading {sdist.filename}")
    archive = pypi.download(sdist, tmp / "download")
    root = pypi.unpack(archive, tmp / "unpacked")
    (tmp / "resolved").write_text(sdist.sha256)
    (tmp / "meta.json").write_text(json.dumps({"sdist": sdist.filename, "uploaded": sdist.uploaded,
                                               "released": sdist.uploaded}))
    out = tmp / "src"
    root.rename(out)
    (out / ".studio-sdist").write_text(f"{sdist.filename} sha256:{sdist.sha256}\n")
    return out


def _fetch_git(url: str, ref: str, tmp: Path, options: FetchOptions) -> Path:
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
    date = _run(["git", "show", "-s", "--format=%cI", sha], cwd=out).stdout.strip()
    shutil.rmtree(out / ".git")
    (tmp / "resolved").write_text(sha)
    (tmp / "meta.json").write_text(json.dumps({"released": date}))  # the set-up loop's "as of" date
    return out


def _fetch_path(location: str, ref: str, tmp: Path, options: FetchOptions) -> Path:
    src = Path(location).expanduser()
    if not src.is_absolute():
        raise SourceError(f"{location!r} is not an absolute path", "location")
    if not src.is_dir():
        raise SourceError(f"{location} is not a directory", "location")
    out = tmp / "src"

    def report(files: int, size: int) -> None:
        options.progress(f"copied {files} files ({size / 2**20:.1f} MB)")

    copy_tree(src, out, limits=options.copy_limits, progress=report)
    if (src / ".git").exists():
        head = _run(["git", "rev-parse", "HEAD"], cwd=src)
        if head.returncode == 0:
            (out / ".studio-git-head").write_text(head.stdout.strip() + "\n")
    return out


def _last_line(text: str) -> str:
    """The line that says what went wrong: git's `fatal:` line (without the prefix), else the last one."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("WARNING")]
    fatal = [ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith(("fatal:", "error:"))]
    return (fatal[0] if fatal else lines[-1] if lines else "no output")[:300]


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


TEST_DIRS = {"test", "tests", "testing", "t"}
TEST_BODY = re.compile(r"^\s*def test\w*\(|unittest\.TestCase|^class Test\w*", re.M)


def detect_layout(root: Path) -> dict:
    """What the studio needs to know before building: test files and packaging files.

    pytest's default file patterns first; failing those, files it would not collect by default but
    that hold tests (`tests.py`, `tests/units.py`, ...): their names become the test command's
    `python_files` (an option of the command, never an edit of the project)."""
    tests, others = [], []
    for path in iter_files(root):
        name = path.name
        if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
            tests.append(path.relative_to(root).as_posix())
        elif name.endswith(".py") and name not in ("__init__.py", "conftest.py", "setup.py") and (
                name in ("tests.py", "test.py") or TEST_DIRS & {p.lower() for p in path.relative_to(root).parts[:-1]}):
            others.append(path)
    packaging = [n for n in ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini") if (root / n).exists()]
    resolved_file = root.parent / "resolved"
    summary = {"test_files": tests[:500], "test_file_count": len(tests), "packaging": packaging}
    if not tests:
        found = [p for p in others if TEST_BODY.search(p.read_text(errors="replace"))]
        if found:
            names = sorted({p.name for p in found})
            summary.update(test_files=[p.relative_to(root).as_posix() for p in found][:500],
                           test_file_count=len(found),
                           test_cmd="python -m pytest -o " + shlex.quote("python_files=" + " ".join(names)))
    if resolved_file.exists():
        summary["resolved"] = resolved_file.read_text().strip()
    head = root / ".studio-git-head"
    if head.exists():
        summary["git_head"] = head.read_text().strip()
    return summary
