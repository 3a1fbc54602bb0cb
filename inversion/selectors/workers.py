"""Reads for the dashboard: each worker and each Docker engine with its load (jobs running now)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from inversion.models import Episode, GoldEnvironment, Worker

RECENT = timedelta(minutes=10)


def workers_overview() -> dict:
    """Workers seen in the last minutes (live or not) and, per engine, its workers and load."""
    now = timezone.now()
    lease = timedelta(seconds=settings.STUDIO_WORKER_LEASE)
    workers = list(Worker.objects.filter(heartbeat_at__gte=now - RECENT).order_by("engine_id", "key"))
    keys = [w.key for w in workers]
    episodes = dict(Episode.objects.filter(worker__in=keys, status__in=[Episode.Status.RUNNING, Episode.Status.VALIDATING])
                    .values_list("worker").annotate(n=Count("pk")))
    builds = dict(GoldEnvironment.objects.filter(worker__in=keys, status__in=["building", "testing"])
                  .values_list("worker").annotate(n=Count("pk")))
    rows = []
    for w in workers:
        live = w.stopped_at is None and w.dead_at is None and w.heartbeat_at >= now - lease
        state = "live" if live else ("dead" if w.dead_at else ("stopped" if w.stopped_at else "silent"))
        rows.append({"key": w.key, "kind": w.kind, "engine": w.engine_id or w.engine, "endpoint": w.engine,
                     "queues": w.queues, "state": state, "beat_seconds": round((now - w.heartbeat_at).total_seconds()),
                     "episodes": episodes.get(w.key, 0), "builds": builds.get(w.key, 0)})
    engines: dict[str, dict] = {}
    for r in rows:
        e = engines.setdefault(r["engine"], {"engine": r["engine"], "endpoint": r["endpoint"], "live_workers": 0,
                                             "episodes": 0, "builds": 0})
        e["live_workers"] += r["state"] == "live"
        e["episodes"] += r["episodes"]
        e["builds"] += r["builds"]
    queued = dict(Episode.objects.filter(status=Episode.Status.QUEUED, gold__engine__in=list(engines))
                  .values_list("gold__engine").annotate(n=Count("pk")))
    for name, e in engines.items():
        e["queued"] = queued.get(name, 0)
    return {"workers": rows, "engines": sorted(engines.values(), key=lambda e: e["engine"])}
