"""Exported files written to a directory, links included, without ever writing through a link."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from tasks.exporters.base import LINK, Files


def link_parents(files: Files) -> list[str]:
    """Names that are links and also a directory above another name: writing that name would follow
    the link out of the tree, so such a file map is refused."""
    links = {name for name, (_, mode) in files.items() if mode == LINK}
    return sorted({str(parent) for name in files for parent in PurePosixPath(name).parents if str(parent) in links})


def write_files(root: Path, files: Files) -> None:
    """Regular files first (with their modes), then the links, so no file is written through one."""
    if bad := link_parents(files):
        raise ValueError(f"unsafe member: {bad[0]!r} is a link with files below it")
    links = []
    for name, (data, mode) in sorted(files.items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode == LINK:
            links.append((path, data))
            continue
        path.write_bytes(data)
        path.chmod(mode)
    for path, target in links:
        os.symlink(os.fsdecode(target), path)
