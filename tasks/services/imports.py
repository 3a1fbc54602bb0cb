"""Import a studio catalog zip: the same tasks again, exportable to the same bytes.

The manifest carries everything a task needs (texts, tests, Dockerfiles, repair script, test command,
validation summary, tokens, catalog and revision numbers) and each task directory carries the build
context, from which the repository snapshot is restored (`src/...` and any other file the
Dockerfile copies are snapshot files; the CA file is the studio's own). Imported tasks arrive
approved in a catalog of the exported name and version, so only reviewers import. The archive is
checked whole before anything is written, and one refused row undoes all.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from inversion.engine.gold.dockerfile import CA_FILE, SOURCE_DIR
from inversion.engine.gold.sources import detect_layout, tree_hash
from inversion.models import GoldEnvironment, Repository
from inversion.services.repositories import parse_spec
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_reviewer
from tasks.exporters.base import Files
from tasks.exporters.importer import read_catalog_zip
from tasks.exporters.ondisk import write_files
from tasks.models import Catalog, CatalogEntry, CatalogVersion, Task, TaskActivity, TaskRevision

RESTORE_KEYS = ("repair_script", "test_cmd", "gold_dockerfile", "catalog", "catalog_version", "revision", "integrity")
GOLD_KEYS = ("roots", "volatile", "volatile_dirs", "interpreter", "interpreter_name", "verifier_python")
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,120}")


def _snapshot_files(rows: list[dict], contexts: dict[str, Files]) -> Files:
    """The repository snapshot as the task directories shipped it (the same file from two tasks
    must be the same bytes)."""
    files: Files = {}
    for row in rows:
        for name, item in contexts[row["task_id"]].items():
            if name == CA_FILE:
                continue
            rel = name.removeprefix(f"{SOURCE_DIR}/")
            if rel in files and files[rel] != item:
                raise ApplicationError(f"refused: {row['repo']}: tasks ship different contents for {rel}")
            files[rel] = item
    return files


def _write_snapshot(name: str, files: Files) -> Path:
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel][0] + b"\0")
    root = Path(settings.STUDIO_SOURCES_DIR) / f"import-{name}-{digest.hexdigest()[:12]}"
    if root.is_dir():
        return root
    tmp = root.with_name(root.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    write_files(tmp, files)  # the importer gives every file DATA, SCRIPT or LINK
    tmp.rename(root)
    return root


def _repository(row: dict, snapshot: Path, user) -> Repository:
    """The repository the rows came from: an existing one with the same name and source whose
    sources are the same, or a new one restored from the zip."""
    name, source = row["repo"], row.get("source") or ""
    existing = Repository.objects.filter(name=name).first()
    if existing:
        same = (existing.spec == source and existing.snapshot_path
                and Path(existing.snapshot_path).is_dir() and tree_hash(Path(existing.snapshot_path)) == tree_hash(snapshot))
        if not same:
            raise ApplicationError(f"refused: a repository named {name} with other sources exists here")
        return existing
    if Repository.objects.filter(spec=source).exists():
        raise ApplicationError(f"refused: the source {source} exists here under another name")
    kind, location, ref = parse_spec(source)
    return Repository.objects.create(
        name=name, kind=kind, spec=source, location=location, ref=ref, resolved=row.get("source_ref") or "",
        snapshot_path=str(snapshot), summary=detect_layout(snapshot), created_by=user,
    )


def _gold_manifest(row: dict, files: dict[str, bytes]) -> dict:
    """The gold's manifest back from a task's verifier files: its config minus the task's part."""
    try:
        config = json.loads(files["verifier.json"])
        part = row.get("integrity") or {}
        manifest = {k: config[k] for k in GOLD_KEYS}
    except (ValueError, KeyError) as exc:
        raise ApplicationError(f"refused: {row['task_id']}: tests/verifier.json is not a studio verifier") from exc
    manifest["entries"] = {p: e for p, e in config["entries"].items() if p not in (part.get("entries") or {})}
    manifest["derived"] = {p: h for p, h in config["derived"].items() if p not in (part.get("derived") or {})}
    manifest["bootstrap"] = files["bootstrap.sha256"].decode()
    return manifest


def _check(rows: list[dict], contexts: dict[str, Files], verifiers: dict, catalog: str) -> tuple[str, int]:
    bad = [str(r["task_id"]) for r in rows if not SLUG.fullmatch(str(r["task_id"])) or not SLUG.fullmatch(str(r["repo"]))]
    if bad:
        raise ApplicationError(f"refused: not a valid task id or repository name: {', '.join(bad[:5])}")
    old = sorted({str(r["task_id"]) for r in rows for k in RESTORE_KEYS if k not in r})
    if old:
        raise ApplicationError("refused: exported by an older studio (the manifest lacks the repair script, "
                               f"test command or catalog version) for: {', '.join(old[:5])}")
    no_context = sorted(str(r["task_id"]) for r in rows if r["task_id"] not in contexts or r["task_id"] not in verifiers)
    if no_context:
        raise ApplicationError("refused: no harbor/ or tb1/ task directory (the build context and verifier) for: "
                               f"{', '.join(no_context[:5])}; export with --format all")
    clash = sorted(r["task_id"] for r in rows if Task.objects.filter(slug=r["task_id"]).exists())
    if clash:
        raise ApplicationError(f"refused: these tasks already exist here: {', '.join(clash)}")
    versions = {(r["catalog"], int(r["catalog_version"])) for r in rows}
    if len(versions) != 1:
        raise ApplicationError("refused: the manifest mixes catalog versions")
    name, number = versions.pop()
    name = catalog or name
    if Catalog.objects.filter(name=name).exists():
        raise ApplicationError(f"refused: a catalog named {name} exists here; import it under another name")
    return name, number


@transaction.atomic
def catalog_import(*, fileobj: BinaryIO, user, catalog: str = "") -> list[Task]:
    """Restore the tasks of a studio zip, approved, in a new catalog at the exported version."""
    if not is_reviewer(user):
        raise ApplicationError("Only reviewers import catalogs: imported tasks arrive approved.")
    archive = read_catalog_zip(fileobj)
    rows = sorted(archive.rows, key=lambda r: r["task_id"])
    name, number = _check(rows, archive.contexts, archive.verifiers, catalog)
    target = Catalog.objects.create(name=name, created_by=user)
    version = CatalogVersion.objects.create(catalog=target, number=number, created_by=user,
                                            note=rows[0].get("catalog_note") or "")
    by_repo: dict[str, list[dict]] = {}
    for row in rows:
        by_repo.setdefault(row["repo"], []).append(row)
    golds: dict[tuple, GoldEnvironment] = {}
    created = []
    for repo_name, repo_rows in by_repo.items():
        repo = _repository(repo_rows[0], _write_snapshot(repo_name, _snapshot_files(repo_rows, archive.contexts)),
                           user)
        for row in repo_rows:
            key = (repo.pk, row["gold_dockerfile"], row["test_cmd"])
            if key not in golds:
                golds[key] = GoldEnvironment.objects.create(
                    repository=repo, status=GoldEnvironment.Status.READY, dockerfile=row["gold_dockerfile"],
                    test_cmd=row["test_cmd"], integrity=_gold_manifest(row, archive.verifiers[row["task_id"]]))
            created.append(_task(row, golds[key], version, user))
    return created


def _task(row: dict, gold: GoldEnvironment, version: CatalogVersion, user) -> Task:
    tokens = row.get("token_usage") or {}
    gold_df, dockerfile = row["gold_dockerfile"], row["dockerfile"]
    delta = dockerfile[len(gold_df.rstrip("\n")) + 1:] if dockerfile.startswith(gold_df.rstrip("\n")) else ""
    task = Task.objects.create(
        slug=row["task_id"], gold=gold, state=Task.State.APPROVED, category=row["category"],
        difficulty=row.get("difficulty_estimated") or row["difficulty"],
        measured_difficulty=row.get("measured_difficulty") or "", measured_by=list(row.get("measured_by") or []),
        tags=list(row.get("tags") or []), gold_dockerfile=gold_df,
        dockerfile=dockerfile, dockerfile_delta=delta, fail_to_pass=list(row["FAIL_TO_PASS"]),
        pass_to_pass=list(row["PASS_TO_PASS"]), validation=row.get("validation") or {},
        repair_script=row["repair_script"], integrity=row.get("integrity") or {},
        signature=row.get("signature") or {}, signature_key=(row.get("signature") or {}).get("key", ""),
        fault_count=int(row.get("fault_count") or 1), prompt_tokens=int(tokens.get("prompt") or 0),
        completion_tokens=int(tokens.get("completion") or 0), version=int(row["revision"]), last_edited_by=user,
    )
    revision = TaskRevision.objects.create(
        task=task, number=task.version, instruction=row["instruction"],
        instruction_hard=row.get("instruction_hard") or row["instruction"], author=user, source="import")
    CatalogEntry.objects.create(version=version, task=task, revision=revision, export_id=task.slug)
    TaskActivity.objects.create(task=task, actor=user, action="import",
                                message=f"imported into {version.catalog.name} v{version.number}")
    return task
