"""Reads of episodes: filtered lists with their yield, one episode with its history, CLI rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Count, Q, QuerySet

from inversion.engine.episode.signature import label, normalise
from inversion.models import Episode, EpisodeEvent
from studio.lib.exceptions import ApplicationError


def episode_filtered(*, repository: str = "", agent: str = "", status: str = "", gold: int | None = None,
                     ) -> QuerySet[Episode]:
    qs = Episode.objects.select_related("gold__repository", "created_by")
    if repository:
        qs = qs.filter(gold__repository__name=repository)
    if agent:
        qs = qs.filter(agent=agent)
    if status:
        qs = qs.filter(status=status)
    if gold:
        qs = qs.filter(gold_id=gold)
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


def episode_get(*, episode_id: int) -> Episode:
    episode = Episode.objects.select_related("gold__repository", "created_by").filter(pk=episode_id).first()
    if episode is None:
        raise ApplicationError(f"no episode #{episode_id}")
    return episode


def episode_detail(*, episode_id: int) -> tuple[Episode, list[EpisodeEvent]]:
    episode = episode_get(episode_id=episode_id)
    return episode, list(episode.events.order_by("seq"))


def episode_used_themes(*, repository_id: int) -> list[str]:
    """Categories/families of tasks already made from this repository (episodes that succeeded)."""
    rows = Episode.objects.filter(gold__repository_id=repository_id, status=Episode.Status.SUCCEEDED)
    themes: list[str] = []
    for category, family in rows.values_list("category", "fault_family").distinct():
        for theme in (category, family):
            if theme and theme not in themes:
                themes.append(theme)
    return themes


def episode_used_signatures(*, gold_id: int, exclude: int | None = None) -> list[dict[str, Any]]:
    """Signatures this gold has or is about to have, oldest first: the guard against making the same
    task twice. Succeeded episodes give the signature validation wrote; episodes awaiting validation
    give their layers ({kind: family, target}); running ones the plan their agent last claimed; those
    validation refused as near-duplicates, the signature it measured. Made ones (not refused ones,
    which are no task) say how many tests they fail (`failing`: the guard's share of whole-suite tasks)."""
    made = Q(status__in=(Episode.Status.SUCCEEDED, Episode.Status.VALIDATING, Episode.Status.RUNNING))
    near = Q(status=Episode.Status.NO_TASK, failed_rule="near_duplicate")  # refused, its set counts as made
    rows = (Episode.objects.filter(made | near, gold_id=gold_id)
            .exclude(pk=exclude).order_by("pk").values_list("pk", "status", "result"))
    seen, out = set(), []
    running = []
    for pk, status, result in rows:
        result = result or {}
        sig = result.get("signature") or {}
        if status == Episode.Status.RUNNING:
            running.append(pk)
            continue
        if not sig.get("key"):  # awaiting validation: the layers the agent reported
            layers = [{"kind": la.get("family") or "", "category": la.get("category") or "",
                       "target": normalise(str(la.get("target") or "")) if la.get("target") else ""}
                      for la in result.get("layers") or [] if la.get("family")]
            sig = {"key": f"episode:{pk}", "label": label({"layers": layers}), "layers": layers} if layers else {}
        if sig.get("key") and sig["key"] not in seen:
            seen.add(sig["key"])
            row = {"key": sig["key"], "label": sig.get("label", ""), "layers": sig.get("layers") or []}
            if status != Episode.Status.NO_TASK:  # a refused twin is no task: not in the whole-suite share
                row["failing"] = len(result.get("newly_failing") or [])
            out.append(row)
    claims: dict[int, dict] = {}
    for episode_id, payload in (EpisodeEvent.objects.filter(episode_id__in=running, kind="thought")
                                .order_by("seq").values_list("episode_id", "payload")):
        if (payload or {}).get("claim"):
            claims[episode_id] = payload["claim"]
    for episode_id, claim in sorted(claims.items()):
        layers = [la for la in claim.get("layers") or [] if la.get("kind")]
        out.append({"key": f"claim:{episode_id}", "label": label({"layers": layers}), "layers": layers})
    return out


def episode_dead_ends(*, gold_id: int, exclude: int | None = None) -> dict[str, int]:
    """Families that an earlier built-in episode of this gold laid as a single fault (or a first
    layer) and abandoned because they broke nothing (or a step failed), and the layers validation
    found to add nothing (`redundant_layers`), with how often: tried last, never as a later layer."""
    found = _thought_marks(gold_id, exclude, "dead_end")
    results = (Episode.objects.filter(gold_id=gold_id, result__has_key="redundant_layers").exclude(pk=exclude)
               .values_list("result", flat=True))
    found.update(str(f) for r in results for f in (r or {}).get("redundant_layers") or [] if f)
    return dict(found)


def episode_lone_layers(*, gold_id: int, exclude: int | None = None) -> dict[str, int]:
    """Families that began an earlier compound episode of this gold and were undone because no
    further layer fitted on top of them (the pairs left were made, or none showed), with how often."""
    return dict(_thought_marks(gold_id, exclude, "lone"))


def episode_no_targets(*, gold_id: int, exclude: int | None = None) -> set[str]:
    """Families whose step, in an earlier built-in episode of this gold, found nothing to aim at
    (no optional import, no project module with a function the tests name): never worth a try here."""
    return set(_thought_marks(gold_id, exclude, "no_target"))


def episode_hiders(*, gold_id: int, exclude: int | None = None) -> set[str]:
    """Later layers ("family|normalised target") that, in an earlier built-in episode of this gold,
    failed every test over a first layer some tests passed under, and were undone."""
    return set(_thought_marks(gold_id, exclude, "hides"))


def episode_blind_layers(*, gold_id: int, exclude: int | None = None) -> dict[str, int]:
    """Families that, as a later layer of an earlier compound episode of this gold, changed nothing
    that fails over the layers below and were undone, with how often."""
    return dict(_thought_marks(gold_id, exclude, "blind"))


def _thought_marks(gold_id: int, exclude: int | None, key: str) -> Counter[str]:
    """How often the built-in agent's thoughts in this gold's episodes (but `exclude`) marked a
    family under `key` (`agents.base.MARKS`)."""
    rows = (EpisodeEvent.objects.filter(episode__gold_id=gold_id, kind="thought", payload__has_key=key)
            .exclude(episode_id=exclude).values_list("payload", flat=True))
    return Counter(str(p[key]) for p in rows if (p or {}).get(key))


def episode_row(episode: Episode) -> dict[str, Any]:
    """The CLI/JSON shape of one episode's outcome (DESIGN.md), with its fault count and signature."""
    result = episode.result or {}
    sig = result.get("signature") or {}
    return {"id": episode.pk, "gold": episode.gold_id, "status": episode.status, "task_id": episode.task_pk,
            "failed_rule": episode.failed_rule or None, "steps": episode.steps,
            "total_tokens": episode.total_tokens, "category": episode.category or None, "reason": episode.reason,
            "fault_count": result.get("fault_count") or (1 if episode.category else 0),
            "signature": ({"key": sig.get("key"), "label": sig.get("label"), "layers": sig.get("layers")}
                          if sig else None)}
