"""Reads a catalog zip back safely: every member is checked before anything is parsed.

Returns the manifest rows and, per task, the build context its task directory carries
(`harbor/<id>/environment/` or `tb1/<id>/environment/`, without the Dockerfile and compose file).
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import BinaryIO

from inversion.engine.gold.dockerfile import SOURCE_DIR
from studio.lib.exceptions import ApplicationError
from tasks.exporters.base import DATA, LINK, SCRIPT, Files
from tasks.exporters.ondisk import link_parents
from tasks.exporters.zipout import member_mode

MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 200_000
REQUIRED_KEYS = ("task_id", "repo", "category", "difficulty", "instruction", "dockerfile", "FAIL_TO_PASS", "PASS_TO_PASS")
CONTEXT_ROOTS = ("harbor/{id}/environment/", "tb1/{id}/environment/")
TESTS_ROOTS = ("harbor/{id}/tests/", "tb1/{id}/tests/")
VERIFIER_FILES = ("verifier.json", "bootstrap.sha256")
NOT_CONTEXT = {"Dockerfile", "docker-compose.yaml"}


@dataclass
class CatalogArchive:
    rows: list[dict]
    contexts: dict[str, Files] = field(default_factory=dict)  # task id -> build context files
    verifiers: dict[str, dict[str, bytes]] = field(default_factory=dict)  # task id -> verifier.json, bootstrap


def _check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    name = info.filename
    path = PurePosixPath(name)
    if name.startswith("/") or "\\" in name or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ApplicationError(f"refused: unsafe path in zip: {name!r}")
    if member_mode(info) == LINK:
        _check_link(zf, info)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ApplicationError(f"refused: {name!r} is {info.file_size} bytes (limit {MAX_MEMBER_BYTES})")


def _check_link(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A link may only be a project's own (in a task's build context) and point inside its snapshot
    (`src/` when the context has the gold layout): the snapshot restored from it is read and built."""
    parts = PurePosixPath(info.filename).parts
    if len(parts) < 4 or parts[0] not in ("harbor", "tb1") or parts[2] != "environment" or info.file_size > 4096:
        raise ApplicationError(f"refused: symlink in zip outside a build context: {info.filename!r}")
    target = _read_capped(zf, info).decode("utf-8", "replace")
    context = "/".join(parts[:4] if parts[3] == SOURCE_DIR else parts[:3])
    where = posixpath.normpath(posixpath.join(posixpath.dirname(info.filename), target))
    if target.startswith("/") or "\0" in target or not where.startswith(context + "/"):
        raise ApplicationError(f"refused: symlink in zip points outside its build context: {info.filename!r} -> {target!r}")


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Reads at most the limit even if the header lies about the size (zip bombs)."""
    with zf.open(info) as fh:
        data = fh.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise ApplicationError(f"refused: {info.filename!r} expands beyond {MAX_MEMBER_BYTES} bytes")
    return data


def read_catalog_zip(fileobj: BinaryIO) -> CatalogArchive:
    """Validated manifest rows and build contexts of a studio catalog zip; ApplicationError on anything
    unsafe (nothing is written anywhere by this function)."""
    try:
        zf = zipfile.ZipFile(fileobj)
    except zipfile.BadZipFile as exc:
        raise ApplicationError("refused: not a zip file") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ApplicationError(f"refused: {len(infos)} members (limit {MAX_MEMBERS})")
        for info in infos:
            _check_member(zf, info)
        if bad := link_parents({i.filename: (b"", member_mode(i)) for i in infos}):
            raise ApplicationError(f"refused: symlink in zip with members below it: {bad[0]!r}")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise ApplicationError(f"refused: archive expands beyond {MAX_TOTAL_BYTES} bytes")
        names = {i.filename for i in infos}
        if "manifest.jsonl" not in names:
            raise ApplicationError("refused: unknown format: no manifest.jsonl (export with --format jsonl or all)")
        raw = _read_capped(zf, zf.getinfo("manifest.jsonl"))
        rows = _rows(raw)
        contexts = {row["task_id"]: _context(zf, infos, str(row["task_id"])) for row in rows}
        verifiers = {row["task_id"]: _verifier(zf, names, str(row["task_id"])) for row in rows}
    return CatalogArchive(rows, {k: v for k, v in contexts.items() if v}, {k: v for k, v in verifiers.items() if v})


def _verifier(zf: zipfile.ZipFile, names: set[str], task_id: str) -> dict[str, bytes]:
    """The verifier's manifest files of the first task directory that has them."""
    for template in TESTS_ROOTS:
        root = template.format(id=task_id)
        if all(root + n in names for n in VERIFIER_FILES):
            return {n: _read_capped(zf, zf.getinfo(root + n)) for n in VERIFIER_FILES}
    return {}


def _context(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], task_id: str) -> Files:
    """The first task directory's environment files (harbor's, else tb1's), with their modes."""
    for template in CONTEXT_ROOTS:
        root = template.format(id=task_id)
        members = [i for i in infos if i.filename.startswith(root) and not i.is_dir()]
        if members:
            files: Files = {}
            for info in members:
                name = info.filename[len(root):]
                if name in NOT_CONTEXT:
                    continue
                mode = member_mode(info)
                mode = mode if mode == LINK else SCRIPT if mode & 0o111 else DATA
                files[name] = (_read_capped(zf, info), mode)
            return files
    return {}


def _rows(raw: bytes) -> list[dict]:
    rows = []
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ApplicationError(f"refused: manifest.jsonl line {number} is not JSON") from exc
        missing = [k for k in REQUIRED_KEYS if not isinstance(row, dict) or k not in row]
        if missing:
            raise ApplicationError(f"refused: manifest.jsonl line {number} lacks {', '.join(missing)}")
        rows.append(row)
    if not rows:
        raise ApplicationError("refused: manifest.jsonl holds no tasks")
    return rows
