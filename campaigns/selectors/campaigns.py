"""Reads for campaign pages and the CLI: one report per campaign (per source, totals, throughput,
ETA, failures grouped by reason), from rows only, so any process can render it at any time."""

from __future__ import annotations

import re
from collections import Counter

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaigns.models import Campaign, CampaignSource
from inversion.models import Episode, GoldEnvironment

TOP_FAILURES = 12


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("created_by").order_by("-pk")


def campaign_get(*, campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign, pk=campaign_id)


def _reason_key(text: str) -> str:
    """A reason with ids, numbers and worker keys masked, so equal causes group together."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else "no reason given"
    first = re.sub(r"\([^)]*:\d+:[^)]*\)", "(worker)", first)
    return re.sub(r"#?\d+", "N", first)[:160]


def _episode_failure(e: Episode) -> str | None:
    if e.status == Episode.Status.NO_TASK:
        return f"no task: {e.failed_rule}" if e.failed_rule else f"no task: {_reason_key(e.reason)}"
    if e.status == Episode.Status.ERROR:
        return f"episode error: {_reason_key(e.reason)}"
    if e.status == Episode.Status.CANCELLED and not e.reason.startswith(("moved:", "paused:")):
        return f"cancelled: {_reason_key(e.reason)}"
    return None


def campaign_report(*, campaign: Campaign) -> dict:
    """Everything the live page and `campaign status` show."""
    sources = list(campaign.sources.select_related("repository", "gold").order_by("line"))
    batch_of = {b: s.pk for s in sources for b in s.batch_ids}
    episodes = list(Episode.objects.filter(batch_id__in=list(batch_of) or [-1])
                    .only("pk", "batch_id", "status", "reason", "failed_rule", "finished_at", "gold_id"))
    per: dict[int, Counter] = {s.pk: Counter() for s in sources}
    failures: Counter = Counter()
    for e in episodes:
        per[batch_of[e.batch_id]][e.status] += 1
        if (why := _episode_failure(e)) is not None:
            failures[why] += 1
    for s in sources:
        if s.stage == CampaignSource.Stage.FAILED:
            failures[f"source: {_reason_key(s.reason)}"] += 1
    rows = [_row(s, per[s.pk]) for s in sources]
    totals = _totals(campaign, rows, episodes)
    return {"id": campaign.pk, "name": campaign.name, "status": campaign.status, "outcome": campaign.outcome,
            "episodes_per_gold": campaign.episodes_per_gold, "agent_mix": campaign.agent_mix,
            "directions": campaign.directions, "target_tasks": campaign.target_tasks,
            "created_at": campaign.created_at.isoformat(), "ticks": campaign.ticks,
            "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
            "sources": rows, "totals": totals, "engines": _engines(episodes),
            "failures": [{"reason": r, "count": n} for r, n in failures.most_common(TOP_FAILURES)]}


def _row(s: CampaignSource, counts: Counter) -> dict:
    gold: GoldEnvironment | None = s.gold
    ended = sum(counts[k] for k in ("succeeded", "no_task", "error", "cancelled"))
    valid = counts["succeeded"]
    return {
        "line": s.line, "spec": s.spec, "stage": s.stage, "reason": s.reason,
        "repository": s.repository.name if s.repository else None, "repository_id": s.repository_id,
        "gold_id": gold.pk if gold else None, "gold_status": gold.status if gold else None,
        "gold_reason": (gold.error if gold and gold.status == "failed" else ""), "engine": gold.engine if gold else "",
        "episodes": sum(counts.values()), "episodes_ended": ended, "running": counts["running"] + counts["validating"],
        "queued": counts["queued"], "valid_tasks": valid, "yield": round(valid / ended, 3) if ended else None,
    }


def _totals(campaign: Campaign, rows: list[dict], episodes: list[Episode]) -> dict:
    end = campaign.finished_at or timezone.now()
    hours = max((end - campaign.created_at).total_seconds() / 3600, 1e-9)
    valid = sum(r["valid_tasks"] for r in rows)
    ended = sum(r["episodes_ended"] for r in rows)
    planned = sum(max(campaign.episodes_per_gold, r["episodes"]) for r in rows
                  if r["stage"] not in (CampaignSource.Stage.FAILED, CampaignSource.Stage.STOPPED))
    per_hour = valid / hours if valid else 0.0
    eta = None
    if campaign.status == Campaign.Status.RUNNING and ended:
        episodes_per_hour = ended / hours
        left = max(planned - ended, 0)
        if campaign.target_tasks and per_hour:
            left_hours = min(left / episodes_per_hour, max(campaign.target_tasks - valid, 0) / per_hour)
        else:
            left_hours = left / episodes_per_hour
        eta = round(left_hours * 3600)
    stages = Counter(r["stage"] for r in rows)
    return {"sources": len(rows), "stages": dict(stages), "episodes": len(episodes), "episodes_ended": ended,
            "valid_tasks": valid, "yield": round(valid / ended, 3) if ended else None,
            "tasks_per_hour": round(per_hour, 2), "seconds": round((end - campaign.created_at).total_seconds(), 1),
            "eta_seconds": eta, "golds_ready": sum(1 for r in rows if r["gold_status"] == "ready"),
            }


def _engines(episodes: list[Episode]) -> list[dict]:
    """Per engine (where each episode's gold image lives): episodes run there and valid tasks made."""
    engine_of = dict(GoldEnvironment.objects.filter(pk__in={e.gold_id for e in episodes}).values_list("pk", "engine"))
    seen: dict[str, dict] = {}
    for e in episodes:
        name = engine_of.get(e.gold_id) or "(any)"
        row = seen.setdefault(name, {"engine": name, "episodes": 0, "valid_tasks": 0})
        row["episodes"] += 1
        row["valid_tasks"] += e.status == Episode.Status.SUCCEEDED
    return sorted(seen.values(), key=lambda r: r["engine"])
