"""Dashboard figures of the inversion app: counts, yield per repository and category, recent episodes."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, Subquery

from inversion.models import Episode, GoldEnvironment, Repository


def inversion_stats() -> dict:
    by_status = dict(Episode.objects.values_list("status").annotate(n=Count("id")))
    return {
        "repositories": Repository.objects.count(),
        "golds_ready": GoldEnvironment.objects.filter(status=GoldEnvironment.Status.READY).count(),
        "episodes_running": sum(by_status.get(s, 0) for s in Episode.ACTIVE),
        "episodes_done": sum(n for s, n in by_status.items() if s not in Episode.ACTIVE),
    }


def _yield_rows(field: str, order: tuple[str, ...]) -> list[dict]:
    rows = (
        Episode.objects.exclude(**{field: ""}).values(field)
        .annotate(done=Count("id", filter=~Q(status__in=Episode.ACTIVE)),
                  made=Count("id", filter=Q(status=Episode.Status.SUCCEEDED)))
        .order_by(*order)
    )
    return [{"name": r[field], "done": r["done"], "made": r["made"],
             "rate": round(100 * r["made"] / r["done"]) if r["done"] else None} for r in rows]


def yield_by_repository() -> list[dict]:
    return _yield_rows("gold__repository__name", ("gold__repository__name",))


def yield_by_category() -> list[dict]:
    """Tasks made per category (episodes that finished with a category)."""
    return _yield_rows("category", ("-made", "category"))


def recent_episodes(limit: int = 8) -> list[Episode]:
    return list(Episode.objects.select_related("gold__repository").order_by("-created_at")[:limit])


FAILURE_LABELS = {
    "docker": "Docker unreachable", "build": "image build failed", "timeout": "build timed out",
    "no-tests": "no tests ran", "tests": "too few tests pass", "error": "studio error", "": "other",
}


def golds_failed_by_reason() -> list[dict]:
    """Repositories whose newest gold failed, grouped by why (the set-up loop gave up on them)."""
    newest = GoldEnvironment.objects.filter(repository=OuterRef("repository")).order_by("-created_at").values("pk")[:1]
    failed = (GoldEnvironment.objects.filter(pk=Subquery(newest), status=GoldEnvironment.Status.FAILED)
              .select_related("repository").order_by("failure_kind", "repository__name"))
    groups: dict[str, dict] = {}
    for gold in failed:
        group = groups.setdefault(gold.failure_kind, {"kind": gold.failure_kind, "repositories": [],
                                                      "label": FAILURE_LABELS.get(gold.failure_kind, gold.failure_kind)})
        group["repositories"].append(gold.repository)
    return sorted(groups.values(), key=lambda g: (-len(g["repositories"]), g["kind"]))
