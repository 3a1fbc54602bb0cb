"""Exports: a frozen catalog version -> one deterministic zip (harbor/, tb1/, manifest.jsonl),
as a queued job with progress (UI) or inline (CLI). The build context is the gold's
(`tasks.exporters.context`), so the exported Dockerfile builds with no download of the project.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils import timezone

from inversion.engine.runtime import integrity
from inversion.engine.runtime.testrun import DEFAULT_TEST_CMD
from inversion.services.workers import workers_dead
from studio.lib.cabundle import extra_ca_bundle
from studio.lib.exceptions import ApplicationError
from studio.lib.jobs import dispatch
from studio.lib.text import storable
from studio.lib.workers import worker_id
from tasks.exporters.base import TaskExport
from tasks.exporters.bundle import build_zip, normalize_formats
from tasks.exporters.context import build_context
from tasks.models import CatalogEntry, CatalogVersion, Export
from tasks.selectors.catalogs import catalog_get, catalog_version_get
from tasks.services.catalogs import catalog_version_check

EXPORT_JOB = "tasks.jobs.export_catalog_job"


def _validation_summary(validation: dict) -> dict:
    """Rule -> {ok, detail} plus the run and test counts (materialize's `Task.validation` shape)."""
    rules = validation.get("rules", validation)
    summary = {"rules": {name: {"ok": r.get("ok"), "detail": r.get("detail", "")}
                         for name, r in sorted(rules.items()) if isinstance(r, dict) and "ok" in r}}
    summary.update({k: validation[k] for k in ("runs", "f2p", "p2p") if k in validation})
    if validation.get("hacks"):
        summary["hacks"] = [{k: h.get(k) for k in ("name", "applied", "reward", "caught_by")}
                            for h in validation["hacks"]]
    return summary


def _verifier(entry: CatalogEntry, test_timeout: float) -> dict:
    """The task's tamper-evident verifier: the gold's manifest, the task's part, the grading."""
    task, gold = entry.task, entry.task.gold
    manifest = gold.integrity
    if not manifest:
        raise ApplicationError(f"{entry.export_id}: its gold has no integrity manifest (built before the "
                               "tamper-evident verifier): rebuild the gold and validate the task again")
    grading = integrity.Grading(gold.test_cmd or DEFAULT_TEST_CMD, list(task.fail_to_pass), list(task.pass_to_pass),
                                timeout=test_timeout)
    config = integrity.verifier_config(manifest, task.integrity or {}, grading)
    return {"verifier": integrity.verifier_files(manifest, config),
            "harbor_test_sh": integrity.run_script(manifest, "harbor"), "tb_run_tests": integrity.run_script(manifest, "tb")}


def task_export_record(*, entry: CatalogEntry, version: CatalogVersion) -> TaskExport:
    task, revision = entry.task, entry.revision
    gold, repo = task.gold, task.gold.repository
    return TaskExport(
        export_id=entry.export_id, repo=repo.name, source=repo.spec, source_ref=repo.resolved or repo.ref,
        category=task.category, difficulty=task.difficulty, tags=list(task.tags),
        instruction=revision.instruction, instruction_hard=revision.instruction_hard,
        dockerfile=task.dockerfile, context=build_context(dockerfile=task.dockerfile, snapshot=repo.snapshot_path,
                              ca_bundle=extra_ca_bundle()),
        fail_to_pass=list(task.fail_to_pass), pass_to_pass=list(task.pass_to_pass),
        repair_script=task.repair_script, test_cmd=gold.test_cmd or DEFAULT_TEST_CMD,
        validation=_validation_summary(task.validation),
        prompt_tokens=task.prompt_tokens, completion_tokens=task.completion_tokens, revision=revision.number,
        catalog=version.catalog.name, catalog_version=version.number, catalog_note=version.note,
        gold_dockerfile=task.gold_dockerfile, integrity=task.integrity or {},
        signature=task.signature or {}, fault_count=task.fault_count,
        measured_difficulty=task.measured_difficulty, measured_by=list(task.measured_by or []),
        **_verifier(entry, TaskExport.test_timeout_sec),
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
    dispatch(EXPORT_JOB, export.pk)
    return export


def _progress(export: Export):
    def update(pct: int, message: str) -> None:
        Export.objects.filter(pk=export.pk).update(progress=min(pct, 99), message=storable(message[:300]))
    return update


def export_run(*, export: Export, out_path: str | None = None) -> Export:
    """Build the zip into STUDIO_EXPORTS_DIR (or `out_path`); the row carries progress and the result.
    Whatever stops it (a refusal, a crash), the row ends `failed` with the reason and no part file stays."""
    version = export.version
    name = f"{version.catalog.name}-v{version.number}-{'-'.join(export.formats)}.zip"
    path = Path(out_path) if out_path else Path(settings.STUDIO_EXPORTS_DIR) / name
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING, progress=1, message="starting",
                                               worker=worker_id())
    part: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as fh:
            part = Path(fh.name)
            count = export_write(version=version, formats=export.formats, out=fh, progress=_progress(export))
        os.replace(part, path)
    except Exception as exc:
        if part is not None:
            part.unlink(missing_ok=True)
        refused = isinstance(exc, ApplicationError)
        error = exc.message if refused else f"export crashed: {type(exc).__name__}: {exc}"
        Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error=storable(error[:2000]),
                                                   message="refused" if refused else "crashed",
                                                   finished_at=timezone.now())
        export.refresh_from_db()
        raise
    data = path.read_bytes()
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.DONE, progress=100, message=f"{count} tasks", path=str(path),
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), finished_at=timezone.now())
    export.refresh_from_db()
    return export


def catalog_export_file(*, catalog_name: str, number: int | None, formats: list[str], out_path: str,
                        user=None) -> Export:
    """The CLI path: the same Export row and builder, run inline."""
    version = catalog_version_get(catalog=catalog_get(name=catalog_name), number=number)
    export = Export.objects.create(version=version, formats=normalize_formats(formats), created_by=user)
    return export_run(export=export, out_path=out_path)


def export_sweep_dead() -> int:
    """Exports whose worker died mid-build end failed with the reason (their part file is swept too)."""
    running = list(Export.objects.filter(status=Export.Status.RUNNING).exclude(worker=""))
    dead = workers_dead({e.worker for e in running}) if running else set()
    ended = 0
    for export in (e for e in running if e.worker in dead):
        ended += Export.objects.filter(pk=export.pk, status=Export.Status.RUNNING).update(
            status=Export.Status.FAILED, message="crashed", error=f"interrupted: worker lost ({export.worker})",
            finished_at=timezone.now())
    return ended
