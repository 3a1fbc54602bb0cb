"""Exports: a frozen catalog version -> one deterministic zip (harbor/, tb1/, manifest.jsonl).

The build context of each task is the gold's: every `COPY`/`ADD` source of the task Dockerfile is
resolved the way `inversion/engine/gold.py` lays out the gold build context, so the exported
Dockerfile builds with no download of the project.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inversion.engine.dockerfile import CA_FILE, SOURCE_DIR
from inversion.engine.sources import iter_files
from inversion.models import GoldEnvironment, Repository
from studio.lib.exceptions import ApplicationError
from tasks.exporters.base import DATA, SCRIPT, Files, TaskExport
from tasks.exporters.bundle import build_zip, normalize_formats
from tasks.exporters.importer import read_catalog_zip
from tasks.models import Catalog, CatalogEntry, CatalogVersion, Export, Task, TaskRevision
from tasks.services.catalogs import catalog_version_check


def _copy_sources(dockerfile: str) -> list[str]:
    """Source operands of COPY/ADD lines (not `--from=` stage copies), as written."""
    sources = []
    for raw in dockerfile.replace("\\\n", " ").splitlines():
        words = shlex.split(raw) if raw.strip() and not raw.lstrip().startswith("#") else []
        if len(words) < 3 or words[0].upper() not in ("COPY", "ADD") or any(w.startswith("--from") for w in words):
            continue
        sources.extend(w for w in words[1:-1] if not w.startswith("--"))
    return sources


def _tree(root: Path, prefix: str) -> Files:
    """The snapshot as the gold build sent it (same file set; symlinks are not shipped).

    Modes are 0644/0755; sdists unpacked with tarfile's data filter already have these, which keeps
    the harness rebuild's COPY layer identical to the gold's, so cached install layers are reused.
    """
    files: Files = {}
    for path in iter_files(root):
        if path.is_symlink() or not path.is_file() or path.suffix == ".pyc":
            continue
        mode = SCRIPT if os.access(path, os.X_OK) else DATA
        files[f"{prefix}{path.relative_to(root).as_posix()}"] = (path.read_bytes(), mode)
    return files


def _ca_bundle() -> bytes:
    path = settings.STUDIO_EXTRA_CA_BUNDLE
    return Path(path).read_bytes() if path and Path(path).is_file() else b""


def build_context(*, dockerfile: str, snapshot: str) -> Files:
    """The files the Dockerfile's COPY/ADD lines need, keyed by their path in the build context.

    The gold layout (inversion/engine/dockerfile.py): the snapshot under `src/`, the extra CA bundle
    as `studio-extra-ca.crt`. `COPY .` means the snapshot at the context root.
    """
    root = Path(snapshot) if snapshot else None
    if root is None or not root.is_dir():
        raise ApplicationError(f"build context: the source snapshot {snapshot or '(none)'} is missing")
    files: Files = {}
    for src in _copy_sources(dockerfile):
        clean = src.strip("/").removeprefix("./").rstrip("/")
        if clean in ("", "."):
            files.update(_tree(root, ""))
        elif clean == SOURCE_DIR:
            files.update(_tree(root, f"{SOURCE_DIR}/"))
        elif clean == CA_FILE and _ca_bundle():
            files[CA_FILE] = (_ca_bundle(), DATA)
        elif (root / clean).is_dir():
            files.update(_tree(root / clean, f"{clean}/"))
        elif (root / clean).is_file():
            files[clean] = ((root / clean).read_bytes(), SCRIPT if os.access(root / clean, os.X_OK) else DATA)
        else:
            raise ApplicationError(f"build context: cannot find {src!r} for the Dockerfile (snapshot {snapshot})")
    return files


def _validation_summary(validation: dict) -> dict:
    """Rule -> {ok, detail} plus the run and test counts (materialize's `Task.validation` shape)."""
    rules = validation.get("rules", validation)
    summary = {"rules": {name: {"ok": r.get("ok"), "detail": r.get("detail", "")}
                         for name, r in sorted(rules.items()) if isinstance(r, dict) and "ok" in r}}
    summary.update({k: validation[k] for k in ("runs", "f2p", "p2p") if k in validation})
    return summary


def task_export_record(*, entry: CatalogEntry, version: CatalogVersion) -> TaskExport:
    task, revision = entry.task, entry.revision
    gold, repo = task.gold, task.gold.repository
    return TaskExport(
        export_id=entry.export_id, repo=repo.name, source=repo.spec, source_ref=repo.resolved or repo.ref,
        category=task.category, difficulty=task.difficulty, tags=list(task.tags),
        instruction=revision.instruction, instruction_hard=revision.instruction_hard,
        dockerfile=task.dockerfile, context=build_context(dockerfile=task.dockerfile, snapshot=repo.snapshot_path),
        fail_to_pass=list(task.fail_to_pass), pass_to_pass=list(task.pass_to_pass),
        repair_script=task.repair_script, test_cmd=gold.test_cmd or "python -m pytest",
        validation=_validation_summary(task.validation),
        prompt_tokens=task.prompt_tokens, completion_tokens=task.completion_tokens, revision=revision.number,
        catalog=version.catalog.name, catalog_version=version.number,
    )


def export_write(*, version: CatalogVersion, formats: list[str], out: BinaryIO, progress=lambda pct, msg: None) -> int:
    """Write the zip for a version to `out`; returns the number of tasks. Refuses bad catalogs."""
    formats = normalize_formats(formats)
    entries = catalog_version_check(version=version)
    refused = sorted(e.export_id for e in entries if e.task.oracle_missing or not e.task.repair_script.strip())
    if refused:
        raise ApplicationError(f"These tasks have no validated repair script to ship as the solution: {', '.join(refused)}")
    progress(5, f"collecting {len(entries)} tasks")
    records = [task_export_record(entry=e, version=version) for e in entries]
    build_zip(out, catalog=version.catalog.name, version=version.number, note=version.note, tasks=records,
              formats=formats, progress=progress)
    return len(records)


def export_start(*, version: CatalogVersion, formats: list[str], user=None) -> Export:
    """Checks now (so the refusal reaches the person), builds in the validate queue."""
    formats = normalize_formats(formats)
    catalog_version_check(version=version)
    export = Export.objects.create(version=version, formats=formats, created_by=user, message="queued")
    from tasks.jobs import export_catalog_job  # the job module imports this one

    transaction.on_commit(lambda: export_catalog_job.delay(export.pk))
    return export


def _progress(export: Export):
    def update(pct: int, message: str) -> None:
        Export.objects.filter(pk=export.pk).update(progress=min(pct, 99), message=message[:300])
    return update


def export_run(*, export: Export, out_path: str | None = None) -> Export:
    """Build the zip into STUDIO_EXPORTS_DIR (or `out_path`); the row carries progress and the result."""
    version = export.version
    name = f"{version.catalog.name}-v{version.number}-{'-'.join(export.formats)}.zip"
    path = Path(out_path) if out_path else Path(settings.STUDIO_EXPORTS_DIR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING, progress=1, message="starting")
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as fh:
            count = export_write(version=version, formats=export.formats, out=fh, progress=_progress(export))
        os.replace(fh.name, path)
    except ApplicationError as exc:
        Path(fh.name).unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error=exc.message, message="refused",
                                                   finished_at=timezone.now())
        export.refresh_from_db()
        raise
    data = path.read_bytes()
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.DONE, progress=100, message=f"{count} tasks", path=str(path),
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), finished_at=timezone.now())
    export.refresh_from_db()
    return export


def catalog_export_file(*, catalog: Catalog, number: int | None, formats: list[str], out_path: str, user=None) -> Export:
    """The CLI path: the same Export row and builder, run inline."""
    from tasks.services.catalogs import catalog_version_get

    version = catalog_version_get(catalog=catalog, number=number)
    export = Export.objects.create(version=version, formats=normalize_formats(formats), created_by=user)
    return export_run(export=export, out_path=out_path)


@transaction.atomic
def catalog_import(*, fileobj: BinaryIO, user=None) -> list[Task]:
    """Round trip: tasks of a studio zip come back as drafts under `imported-<repo>` repositories.

    The archive is checked whole before anything is written, and one refused row undoes all.
    """
    rows = read_catalog_zip(fileobj)
    clash = sorted(r["task_id"] for r in rows if Task.objects.filter(slug=r["task_id"]).exists())
    if clash:
        raise ApplicationError(f"refused: these tasks already exist here: {', '.join(clash)}")
    created = []
    for row in rows:
        repo, _ = Repository.objects.get_or_create(
            name=f"imported-{row['repo']}"[:100], defaults={"kind": Repository.Kind.PATH, "location": "",
                                                          "spec": f"import:{row.get('source') or row['repo']}"[:500],
                                                          "created_by": user})
        gold = GoldEnvironment.objects.create(repository=repo, status=GoldEnvironment.Status.READY)
        task = Task.objects.create(
            slug=row["task_id"], gold=gold, category=row["category"], difficulty=row["difficulty"],
            tags=row.get("tags") or [], dockerfile=row["dockerfile"], gold_dockerfile="", dockerfile_delta="",
            fail_to_pass=row["FAIL_TO_PASS"], pass_to_pass=row["PASS_TO_PASS"], validation=row.get("validation") or {},
            version=1, last_edited_by=user)
        TaskRevision.objects.create(task=task, number=1, instruction=row["instruction"],
                                    instruction_hard=row.get("instruction_hard") or row["instruction"],
                                    author=user, source="import")
        created.append(task)
    return created
