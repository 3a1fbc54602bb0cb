"""Reads of the inversion app."""

from __future__ import annotations

from django.db.models import Count

from inversion.models import Episode, GoldEnvironment, Repository


def inversion_stats() -> dict:
    by_status = dict(Episode.objects.values_list("status").annotate(n=Count("id")))
    return {
        "repositories": Repository.objects.count(),
        "golds_ready": GoldEnvironment.objects.filter(status=GoldEnvironment.Status.READY).count(),
        "episodes_running": sum(by_status.get(s, 0) for s in Episode.ACTIVE),
        "episodes_done": sum(n for s, n in by_status.items() if s not in Episode.ACTIVE),
    }


def repository_list() -> list[Repository]:
    return list(Repository.objects.all())


def episode_list() -> list[Episode]:
    return list(Episode.objects.select_related("gold__repository")[:200])


def episode_used_themes(*, repository_id: int) -> list[str]:
    """Categories/families of tasks already made from this repository (episodes that succeeded)."""
    rows = Episode.objects.filter(gold__repository_id=repository_id, status=Episode.Status.SUCCEEDED)
    themes: list[str] = []
    for category, family in rows.values_list("category", "fault_family").distinct():
        for theme in (category, family):
            if theme and theme not in themes:
                themes.append(theme)
    return themes



def repository_get(*, key: str | int) -> Repository:
    """A repository by id or name; ApplicationError when there is none."""
    from studio.lib.exceptions import ApplicationError

    key = str(key)
    found = Repository.objects.filter(pk=int(key)).first() if key.isdigit() else None
    found = found or Repository.objects.filter(name=key).first()
    if found is None:
        raise ApplicationError(f"no repository {key!r}")
    return found


def gold_latest(*, repository: Repository) -> GoldEnvironment | None:
    return repository.golds.first()
