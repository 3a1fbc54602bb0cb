"""Copy a local directory into a snapshot, bounded: size, file count and depth caps, VCS and cache
directories skipped, special files (pipes, sockets, devices) left out, progress reported, and one
readable error for anything it cannot take."""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inversion.engine.gold.errors import SourceError

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", "node_modules", ".mypy_cache",
             ".pytest_cache", ".ruff_cache", ".eggs"}
Progress = Callable[[int, int], None]  # (files copied, bytes copied)


@dataclass(frozen=True)
class CopyLimits:
    max_bytes: int = 1024**3
    max_files: int = 100_000
    max_depth: int = 64
    refuse: tuple[Path, ...] = field(default_factory=tuple)  # never copy a tree holding these (the data dir)


def check_roots(src: Path, limits: CopyLimits) -> None:
    """Refuse a tree that holds (or lies inside) a refused root such as the studio's data dir."""
    for root in limits.refuse:
        root = root.resolve()
        if root == src or src in root.parents:
            raise SourceError(f"{src} contains the studio's data directory {root}; choose the project's own directory")
        if root in src.parents:
            raise SourceError(f"{src} is inside the studio's data directory {root}")


def _name(path: str) -> str:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SourceError(f"{path.encode('utf-8', 'surrogateescape')!r} has a name that is not UTF-8; "
                          "rename it or leave it out") from exc
    return path


def copy_tree(src: Path, dest: Path, *, limits: CopyLimits, progress: Progress = lambda files, size: None) -> int:
    """Copy `src` into the new directory `dest`; returns the number of files. Raises SourceError."""
    src = src.resolve()
    check_roots(src, limits)
    files = size = 0
    last = time.monotonic()
    stack = [(src, dest, 0)]
    try:
        while stack:
            here, there, depth = stack.pop()
            if depth > limits.max_depth:
                raise SourceError(f"{here} is nested deeper than {limits.max_depth} directories")
            there.mkdir(parents=depth == 0, exist_ok=depth == 0)
            with os.scandir(here) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    name = _name(entry.name)
                    target = there / name
                    mode = entry.stat(follow_symlinks=False).st_mode
                    if stat.S_ISLNK(mode):
                        os.symlink(os.readlink(entry.path), target)
                    elif stat.S_ISDIR(mode):
                        if name not in SKIP_DIRS:
                            stack.append((Path(entry.path), target, depth + 1))
                    elif stat.S_ISREG(mode):
                        files += 1
                        size += entry.stat(follow_symlinks=False).st_size
                        if files > limits.max_files:
                            raise SourceError(f"{src} holds more than {limits.max_files} files "
                                              "(STUDIO_SOURCE_MAX_FILES)")
                        if size > limits.max_bytes:
                            raise SourceError(f"{src} is larger than {limits.max_bytes // 2**20} MB "
                                              "(STUDIO_SOURCE_MAX_BYTES)")
                        shutil.copyfile(entry.path, target, follow_symlinks=False)
                        os.chmod(target, stat.S_IMODE(mode) | 0o600)
                    # pipes, sockets and devices are not source code: left out
                    if time.monotonic() - last >= 0.5:
                        progress(files, size)
                        last = time.monotonic()
    except OSError as exc:
        raise SourceError(f"cannot copy {exc.filename or src}: {exc.strerror or exc}") from exc
    progress(files, size)
    return files
