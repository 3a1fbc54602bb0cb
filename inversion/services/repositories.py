"""Writes for repositories: add one from a source spec (idempotent), edit its overrides."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from inversion.engine import sources
from inversion.engine.dockerfile import detect_test_deps
from inversion.models import Repository
from studio.lib.exceptions import ApplicationError

SPEC_HELP = "use pypi:NAME==VERSION, git:URL@REF or path:DIR"


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


def repository_add(
    *, kind: str, location: str, ref: str = "", name: str = "", user=None
) -> tuple[Repository, bool]:
    """Fetch and validate the source, then create the row; returns (repository, created).

    The same source again returns the existing repository. Nothing is stored on bad input.
    """
    kind, location, ref = kind.strip(), location.strip(), ref.strip()
    if kind == "path" and location:
        location = str(Path(location).expanduser().resolve()) if Path(location).is_absolute() else location
    spec = canonical_spec(kind, location, ref) if kind in Repository.Kind.values else ""
    existing = Repository.objects.filter(spec=spec).first() if spec else None
    if existing:
        return existing, False
    name = (name or "").strip() or default_name(kind, location)
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", name):
        raise ApplicationError(f"{name!r} is not a valid name (letters, digits, - and _)", {"field": "name"})
    if Repository.objects.filter(name=name).exists():
        raise ApplicationError(
            f"a repository named {name!r} already exists with another source; choose another name",
            {"field": "name"},
        )
    try:
        snap = sources.fetch(kind, location, ref, Path(settings.STUDIO_SOURCES_DIR))
    except sources.SourceError as exc:
        raise ApplicationError(exc.message, {"field": exc.field}) from exc
    snap.summary["test_deps"] = detect_test_deps(snap.path).as_dict()
    try:
        with transaction.atomic():
            repo = Repository.objects.create(
                name=name, kind=kind, spec=spec, location=location, ref=ref, resolved=snap.resolved,
                snapshot_path=str(snap.path), summary=snap.summary, created_by=user,
            )
    except IntegrityError as exc:
        shutil.rmtree(snap.path, ignore_errors=True)
        raise ApplicationError("this repository was added at the same time; reload", {"field": "name"}) from exc
    return repo, True


def repository_add_spec(*, spec: str, name: str = "", user=None) -> tuple[Repository, bool]:
    kind, location, ref = parse_spec(spec)
    return repository_add(kind=kind, location=location, ref=ref, name=name, user=user)


def repository_update_overrides(
    *, repository: Repository, install_cmd: str, test_cmd: str, dockerfile_override: str
) -> Repository:
    """Curator overrides; the next gold build uses them (and so gets a new content hash)."""
    repository.install_cmd = install_cmd.strip()
    repository.test_cmd = test_cmd.strip()
    repository.dockerfile_override = dockerfile_override.strip() + ("\n" if dockerfile_override.strip() else "")
    repository.save(update_fields=["install_cmd", "test_cmd", "dockerfile_override"])
    return repository
