"""One zip for a catalog version: the chosen formats, a dataset card and SHA256SUMS."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from studio.lib.exceptions import ApplicationError
from tasks.exporters.base import FORMATS, Files, TaskExport, text
from tasks.exporters.card import dataset_card
from tasks.exporters.harbor import harbor_files
from tasks.exporters.manifest import manifest_jsonl
from tasks.exporters.tb1 import tb1_files, unique_instructions
from tasks.exporters.zipout import sha256sums, write_zip


def normalize_formats(formats: list[str] | str) -> list[str]:
    """`all` or a list of names -> the canonical ordered list; unknown names are refused."""
    names = [formats] if isinstance(formats, str) else list(formats)
    if "all" in names:
        return list(FORMATS)
    unknown = sorted(set(names) - set(FORMATS))
    if unknown or not names:
        raise ApplicationError(f"unknown export format {', '.join(unknown) or '(none)'}; choose from harbor, tb1, jsonl, all")
    return [f for f in FORMATS if f in names]


def bundle_files(*, catalog: str, version: int, note: str, tasks: list[TaskExport], formats: list[str],
                 progress: Callable[[int, str], None] = lambda pct, msg: None) -> Files:
    formats = normalize_formats(formats)
    tasks = sorted(tasks, key=lambda t: t.export_id)
    files: Files = {}
    instructions = unique_instructions(tasks)
    for i, task in enumerate(tasks):
        if "harbor" in formats:
            files.update(harbor_files(task, "harbor/"))
        if "tb1" in formats:
            files.update(tb1_files(task, "tb1/", instructions[task.export_id]))
        progress(10 + 80 * (i + 1) // len(tasks), f"wrote {task.export_id}")
    if "jsonl" in formats:
        files["manifest.jsonl"] = (manifest_jsonl(tasks), 0o644)
    files["README.md"] = text(dataset_card(catalog=catalog, version=version, note=note, tasks=tasks, formats=formats))
    files["SHA256SUMS"] = (sha256sums(files), 0o644)
    return files


def build_zip(out: BinaryIO, **kwargs) -> Files:
    files = bundle_files(**kwargs)
    write_zip(files, out)
    return files
