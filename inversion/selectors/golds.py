"""Reads of gold environments, and everything the repository page's gold panel shows."""

from __future__ import annotations

import difflib
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from inversion.engine.gold import dockerfile as dfile
from inversion.engine.gold.surface import overview
from inversion.models import GoldEnvironment, Repository
from studio.lib.cabundle import extra_ca_bundle
from studio.lib.dockerctx import docker_status
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator

ACTIVE = (GoldEnvironment.Status.QUEUED, GoldEnvironment.Status.BUILDING, GoldEnvironment.Status.TESTING)


def gold_get(*, gold_id: int) -> GoldEnvironment:
    """ApplicationError (not DoesNotExist) for an unknown id, so every entry point says it the same way."""
    gold = GoldEnvironment.objects.select_related("repository").filter(pk=gold_id).first()
    if gold is None:
        raise ApplicationError(f"no gold environment #{gold_id}")
    return gold


def gold_latest(*, repository: Repository) -> GoldEnvironment | None:
    return repository.golds.first()


def gold_list(*, repository: str = "") -> QuerySet[GoldEnvironment]:
    qs = GoldEnvironment.objects.select_related("repository").order_by("pk")
    return qs.filter(repository__name=repository) if repository else qs


def gold_row(gold: GoldEnvironment) -> dict:
    """The `gold build --json` / `gold list --json` shape (DESIGN.md), with a few extra keys."""
    counts = gold.counts
    return {
        "id": gold.id, "repo": gold.repository_id, "repo_name": gold.repository.name, "image": gold.image,
        "status": gold.status, "reused": gold.reused, "cached": getattr(gold, "cached", False), "error": gold.error,
        "baseline": {k: counts.get(k, 0) for k in ("passed", "failed", "skipped", "flaky", "error",
                                                   "order_dependent", "total")},
        "build_seconds": gold.build_seconds, "test_seconds": gold.test_seconds, "failure_kind": gold.failure_kind,
        "test_cmd": gold.test_cmd,
        "attempts": [{"n": a.get("n"), "reason": a.get("reason", ""), "change": a.get("change", ""),
                      "status": a.get("status", ""), "seconds": a.get("seconds")} for a in gold.attempts or []],
        "order_dependent": list((gold.baseline or {}).get("order_dependent") or []),
    }


def _build_disabled_reason(repo: Repository, gold: GoldEnvironment | None, user) -> str:
    if repo.status == Repository.Status.FETCHING:
        return "the source is still being fetched"
    if repo.status == Repository.Status.FAILED:
        return "the source could not be fetched"
    docker = docker_status()
    if not docker.ok:
        return f"Docker is unreachable: {docker.detail}"
    if gold and gold.status in ACTIVE:
        return "a build is in progress"
    if not is_curator(user):
        return "only curators may build"
    return ""


def gold_panel(*, repository: Repository, user) -> dict:
    """The gold panel of a repository page: the newest gold, its log, baseline and surface, and
    what this user may do with it (and why not)."""
    gold = gold_latest(repository=repository)
    events = list(gold.log_events.order_by("seq")) if gold else []
    baseline = gold.baseline if gold else {}
    return {
        "repo": repository, "gold": gold, "events": events, "last_seq": events[-1].seq if events else 0,
        "building": bool(gold and gold.status in ACTIVE),
        "fetching": repository.status == Repository.Status.FETCHING,
        "can_delete": is_curator(user), "can_launch": bool(gold and gold.status == GoldEnvironment.Status.READY),
        "build_disabled_reason": _build_disabled_reason(repository, gold, user),
        "flaky": (baseline.get("flaky") or [])[:50], "slowest": (baseline.get("slowest") or [])[:10],
        "order_dependent": (baseline.get("order_dependent") or [])[:50],
        "attempts": gold.attempts if gold else [], "dockerfile_diff": dockerfile_diff(gold) if gold else [],
        "surface": overview(gold.surface) if gold and gold.surface else None,
    }


def dockerfile_diff(gold: GoldEnvironment) -> list[tuple[str, str]]:
    """What the set-up loop changed: the final Dockerfile against the first synthesis, as
    (kind, line) pairs for the page (kind: add, del, ctx); empty when nothing changed."""
    if not gold.first_dockerfile or gold.first_dockerfile == gold.dockerfile:
        return []
    lines = difflib.unified_diff(gold.first_dockerfile.splitlines(), gold.dockerfile.splitlines(),
                                 "first synthesis", f"attempt {len(gold.attempts)}", lineterm="", n=1)
    kinds = {"+": "add", "-": "del"}
    return [(kinds.get(line[:1], "ctx") if not line.startswith(("+++", "---")) else "ctx", line) for line in lines]


def gold_dockerfile(*, repository: Repository) -> str:
    """The Dockerfile the next build uses: the curator's override or the synthesized one."""
    if repository.dockerfile_override.strip():
        return repository.dockerfile_override
    return dfile.synthesize(
        base_image=settings.STUDIO_BASE_IMAGE, install_cmd=install_command_for(repository),
        with_ca=bool(extra_ca_bundle()),
    )


def install_command_for(repository: Repository) -> str:
    """The curator's install command, else the one detected from the project's declared test deps."""
    root = Path(repository.snapshot_path)
    return repository.install_cmd or dfile.install_command(
        dfile.detect_test_deps(root), installable=dfile.is_installable(root)
    )


def repository_page(*, repository: Repository, user) -> dict:
    """Everything a repository page shows: the gold panel and the Dockerfile of the next build."""
    return {**gold_panel(repository=repository, user=user),
            "next_dockerfile": gold_dockerfile(repository=repository) if repository.snapshot_path else ""}
