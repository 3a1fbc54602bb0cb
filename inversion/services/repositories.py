"""Writes for repositories: add one from a source spec (idempotent; now, or fetched by a job for the
web form), edit its overrides, delete one whose fetch failed."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from inversion.engine.gold import sources
from inversion.engine.gold.dockerfile import detect_test_deps
from inversion.engine.gold.errors import SourceError
from inversion.engine.gold.localcopy import CopyLimits, check_roots
from inversion.models import Repository
from studio.lib.exceptions import ApplicationError
from studio.lib.jobs import dispatch
from studio.lib.text import storable
from studio.lib.workers import worker_id

SPEC_HELP = "use pypi:NAME==VERSION, git:URL@REF or path:DIR"
FETCH_JOB = "inversion.jobs.repository_fetch_job"


def parse_spec(spec: str) -> tuple[str, str, str]:
    """`pypi:six==1.16.0` -> ("pypi", "six", "1.16.0"); raises ApplicationError on bad syntax."""
    kind, sep, rest = (spec or "").strip().partition(":")
    rest = rest.strip()
    if not sep or kind not in Repository.Kind.values or not rest:
        raise ApplicationError(f"bad source {spec!r}: {SPEC_HELP}", {"field": "kind"})
    if kind == "pypi":
        name, _, version = rest.partition("==")
        return kind, name.strip(), version.strip()
    if kind == "git":
        url, at, ref = rest.rpartition("@")
        if not at or "/" in ref or not url:
            raise ApplicationError(f"bad git source {spec!r}: write git:URL@REF", {"field": "ref"})
        return kind, url, ref
    return kind, rest, ""


def canonical_spec(kind: str, location: str, ref: str) -> str:
    if kind == "pypi":
        return f"pypi:{re.sub(r'[-_.]+', '-', location).lower()}=={ref}"
    if kind == "git":
        return f"git:{location}@{ref}"
    return f"path:{Path(location).expanduser().resolve()}"


def default_name(kind: str, location: str) -> str:
    base = Path(location.rstrip("/")).name
    if kind == "git" and base.endswith(".git"):
        base = base[:-4]
    return re.sub(r"[^a-z0-9_-]+", "-", base.lower()).strip("-")[:100] or "repo"


def _check_source(*, kind: str, location: str, ref: str, name: str) -> tuple[Repository | None, dict]:
    """Check the input without fetching: (the repository with this source or None, the new row's
    identifying fields: name, kind, spec, location, ref)."""
    kind, location, ref = kind.strip(), location.strip(), ref.strip()
    if kind == "path" and location:
        location = str(Path(location).expanduser().resolve()) if Path(location).is_absolute() else location
    spec = canonical_spec(kind, location, ref) if kind in Repository.Kind.values else ""
    fields = {"kind": kind, "spec": spec, "location": location, "ref": ref}
    existing = Repository.objects.filter(spec=spec).first() if spec else None
    if existing:
        return existing, {**fields, "name": existing.name}
    name = (name or "").strip() or default_name(kind, location)
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", name):
        raise ApplicationError(f"{name!r} is not a valid name (letters, digits, - and _)", {"field": "name"})
    if Repository.objects.filter(name=name).exists():
        raise ApplicationError(
            f"a repository named {name!r} already exists with another source; choose another name",
            {"field": "name"},
        )
    return None, {**fields, "name": name}


def _create(**fields) -> Repository:
    try:
        with transaction.atomic():
            return Repository.objects.create(**fields)
    except IntegrityError as exc:
        raise ApplicationError("this repository was added at the same time; reload", {"field": "name"}) from exc


def _options(progress: Callable[[str], None]) -> sources.FetchOptions:
    limits = CopyLimits(max_bytes=settings.STUDIO_SOURCE_MAX_BYTES, max_files=settings.STUDIO_SOURCE_MAX_FILES,
                        refuse=(Path(settings.DATA_DIR),))
    return sources.FetchOptions(index=settings.STUDIO_PYPI_INDEX, copy_limits=limits, progress=progress)


def _fetch(kind: str, location: str, ref: str, progress: Callable[[str], None] = lambda line: None,
           ) -> sources.Snapshot:
    try:
        snap = sources.fetch(kind, location, ref, Path(settings.STUDIO_SOURCES_DIR), _options(progress))
    except SourceError as exc:
        raise ApplicationError(exc.message, {"field": exc.field}) from exc
    snap.summary["test_deps"] = detect_test_deps(snap.path).as_dict()
    return snap


def _check_local(location: str) -> None:
    """What a local path must be before a job copies it (answered in the request, next to the field)."""
    path = Path(location).expanduser()
    if not path.is_absolute():
        raise ApplicationError(f"{location!r} is not an absolute path", {"field": "location"})
    if not path.is_dir():
        raise ApplicationError(f"{location} is not a directory", {"field": "location"})
    try:
        check_roots(path.resolve(), _options(lambda line: None).copy_limits)
    except SourceError as exc:
        raise ApplicationError(exc.message, {"field": "location"}) from exc


def repository_add(
    *, kind: str, location: str, ref: str = "", name: str = "", user=None,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[Repository, bool]:
    """Fetch and validate the source now, then create the row; returns (repository, created).

    The same source again returns the existing repository (a failed fetch is retried). Nothing is
    stored on bad input. The CLI and benches call this; the web form calls `repository_register`.
    """
    existing, fields = _check_source(kind=kind, location=location, ref=ref, name=name)
    if existing and existing.status != Repository.Status.FAILED:
        return existing, False
    snap = _fetch(fields["kind"], fields["location"], fields["ref"], progress)
    if existing:  # a failed fetch of the same source, now good
        _store_snapshot(existing, snap)
        return existing, False
    try:
        repo = _create(**fields, resolved=snap.resolved, snapshot_path=str(snap.path), summary=snap.summary,
                       created_by=user)  # fmt: skip
    except ApplicationError:
        shutil.rmtree(snap.path, ignore_errors=True)
        raise
    return repo, True


def repository_register(
    *, kind: str, location: str, ref: str = "", name: str = "", user=None
) -> tuple[Repository, bool]:
    """The web form's add: the input is checked now (errors next to the field), then the row is
    `fetching` at once and a build-queue job downloads, clones or copies the source while the
    repository page shows its progress. Re-adding a failed source retries it."""
    if kind.strip() == Repository.Kind.PATH:
        _check_local(location.strip())
    existing, fields = _check_source(kind=kind, location=location, ref=ref, name=name)
    if existing and existing.status != Repository.Status.FAILED:
        return existing, False
    if existing:
        Repository.objects.filter(pk=existing.pk).update(status=Repository.Status.FETCHING, error="",
                                                         fetch_claimed_at=None, fetch_progress="")  # fmt: skip
        existing.refresh_from_db()
        repo, created = existing, False
    else:
        repo, created = _create(**fields, status=Repository.Status.FETCHING, created_by=user), True
    dispatch(FETCH_JOB, repo.pk)
    return repo, created


def repository_fetch(*, repository: Repository) -> Repository:
    """Fetch a `fetching` repository's source (the job's body). Claims the row once, so a
    redelivered or duplicate job does nothing; any failure ends in `failed` with the reason."""
    claimed = Repository.objects.filter(
        pk=repository.pk, status=Repository.Status.FETCHING, fetch_claimed_at__isnull=True
    ).update(fetch_claimed_at=timezone.now(), fetch_worker=worker_id())
    if not claimed:
        repository.refresh_from_db()
        return repository
    error = ""

    def progress(line: str) -> None:
        Repository.objects.filter(pk=repository.pk).update(fetch_progress=storable(line[:300]))

    try:
        snap = _fetch(repository.kind, repository.location, repository.ref, progress)
    except ApplicationError as exc:
        error = exc.message
    except Exception as exc:  # noqa: BLE001 - an unexpected fault must still end the fetch visibly
        error = f"fetch failed: {type(exc).__name__}: {exc}"[:2000]
    else:
        _store_snapshot(repository, snap)
    if error:
        Repository.objects.filter(pk=repository.pk).update(status=Repository.Status.FAILED, error=storable(error))
    repository.refresh_from_db()
    return repository


def repository_delete(*, repository: Repository) -> None:
    """Remove a repository whose source could not be fetched (nothing else refers to it)."""
    if repository.status != Repository.Status.FAILED:
        raise ApplicationError("only a repository whose fetch failed can be deleted here")
    repository.delete()


def _store_snapshot(repository: Repository, snap: sources.Snapshot) -> None:
    Repository.objects.filter(pk=repository.pk).update(
        status=Repository.Status.READY, error="", resolved=snap.resolved, snapshot_path=str(snap.path),
        summary=storable(snap.summary),
    )  # fmt: skip
    repository.refresh_from_db()


def repository_add_spec(*, spec: str, name: str = "", user=None,
                        progress: Callable[[str], None] = lambda line: None) -> tuple[Repository, bool]:
    kind, location, ref = parse_spec(spec)
    return repository_add(kind=kind, location=location, ref=ref, name=name, user=user, progress=progress)


def repository_update_overrides(
    *, repository: Repository, install_cmd: str, test_cmd: str, dockerfile_override: str
) -> Repository:
    """Curator overrides; the next gold build uses them (and so gets a new content hash)."""
    repository.install_cmd = install_cmd.strip()
    repository.test_cmd = test_cmd.strip()
    repository.dockerfile_override = dockerfile_override.strip() + ("\n" if dockerfile_override.strip() else "")
    repository.save(update_fields=["install_cmd", "test_cmd", "dockerfile_override"])
    return repository
