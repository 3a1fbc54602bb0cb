"""Reads behind the episode pages: filtered lists, yield, one episode with its event history."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from inversion.models import Episode, EpisodeEvent, GoldEnvironment, Repository


def episode_filtered(*, repository: str = "", agent: str = "", status: str = "") -> QuerySet[Episode]:
    qs = Episode.objects.select_related("gold__repository", "created_by")
    if repository:
        qs = qs.filter(gold__repository__name=repository)
    if agent:
        qs = qs.filter(agent=agent)
    if status:
        qs = qs.filter(status=status)
    return qs


def episode_yield(qs: QuerySet[Episode]) -> dict:
    """Finished episodes and how many of them made a task."""
    agg = qs.aggregate(
        done=Count("id", filter=~Q(status__in=Episode.ACTIVE)),
        made=Count("id", filter=Q(status=Episode.Status.SUCCEEDED)),
        active=Count("id", filter=Q(status__in=Episode.ACTIVE)),
    )
    agg["rate"] = round(100 * agg["made"] / agg["done"]) if agg["done"] else None
    return agg


def yield_by_repository() -> list[dict]:
    rows = (
        Episode.objects.values("gold__repository__name")
        .annotate(
            done=Count("id", filter=~Q(status__in=Episode.ACTIVE)),
            made=Count("id", filter=Q(status=Episode.Status.SUCCEEDED)),
        )
        .order_by("gold__repository__name")
    )
    return [
        {"name": r["gold__repository__name"], "done": r["done"], "made": r["made"],
         "rate": round(100 * r["made"] / r["done"]) if r["done"] else None}
        for r in rows
    ]


def repository_names() -> list[str]:
    return list(Repository.objects.values_list("name", flat=True))


def episode_detail(*, episode_id: int) -> tuple[Episode, list[EpisodeEvent]]:
    episode = Episode.objects.select_related("gold__repository", "created_by").get(pk=episode_id)
    return episode, list(episode.events.order_by("seq"))


def gold_get(*, gold_id: int) -> GoldEnvironment:
    return GoldEnvironment.objects.select_related("repository").get(pk=gold_id)


def yield_by_category() -> list[dict]:
    """Tasks made per category (episodes that finished with a category)."""
    rows = (
        Episode.objects.exclude(category="").values("category")
        .annotate(done=Count("id", filter=~Q(status__in=Episode.ACTIVE)),
                  made=Count("id", filter=Q(status=Episode.Status.SUCCEEDED)))
        .order_by("-made", "category")
    )
    return [{"name": r["category"], "done": r["done"], "made": r["made"],
             "rate": round(100 * r["made"] / r["done"]) if r["done"] else None} for r in rows]


def recent_episodes(limit: int = 8) -> list[Episode]:
    return list(Episode.objects.select_related("gold__repository").order_by("-created_at")[:limit])
