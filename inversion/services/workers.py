"""Worker leases: a process that runs jobs registers, beats every few seconds, and says goodbye; one
that stops beating (or whose process is gone, on this host) is dead, and the sweep ends its work."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from inversion.models import Worker
from studio.lib.db import retry_locked
from studio.lib.dockerctx import endpoint, engine_id
from studio.lib.workers import process_alive, worker_id


def worker_beat(*, kind: str, queues: str = "") -> Worker:
    """Register this process (first beat) or renew its lease."""
    key = worker_id()
    now = timezone.now()
    host, pid = key.split(":")[0], int(key.split(":")[1])
    worker, created = retry_locked(
        Worker.objects.get_or_create, key=key,
        defaults={"hostname": host, "pid": pid, "kind": kind, "engine": endpoint(), "engine_id": engine_id(),
                  "queues": queues, "heartbeat_at": now})
    if not created:
        retry_locked(Worker.objects.filter(pk=worker.pk).update, heartbeat_at=now, stopped_at=None)
    return worker


def worker_stop() -> None:
    retry_locked(Worker.objects.filter(key=worker_id()).update, stopped_at=timezone.now())


def worker_is_dead(key: str, leases: dict[str, Worker] | None = None) -> bool:
    """Dead: its process is gone (this host), it stopped, or its lease ran out. A key without a lease
    (work done in a process that never registered, such as a test) is dead only once its process is."""
    if not key:
        return False
    alive = process_alive(key)
    if alive is False:
        return True
    lease = (leases or {}).get(key) if leases is not None else Worker.objects.filter(key=key).first()
    if lease is None:
        return False
    expired = lease.heartbeat_at < timezone.now() - timedelta(seconds=settings.STUDIO_WORKER_LEASE)
    return alive is not True and (lease.stopped_at is not None or expired)


def workers_dead(keys: set[str]) -> set[str]:
    """Which of these worker keys are dead (see `worker_is_dead`); the dead ones are marked."""
    leases = {w.key: w for w in Worker.objects.filter(key__in=keys)}
    dead = {k for k in keys if worker_is_dead(k, leases)}
    if dead:
        retry_locked(Worker.objects.filter(key__in=dead, dead_at__isnull=True).update, dead_at=timezone.now())
    return dead


def workers_on_engine(engine: str) -> set[str]:
    """Keys of every worker that ever ran on this Docker engine (the sweep checks which are dead)."""
    return set(Worker.objects.filter(Q(engine=engine)).values_list("key", flat=True))


def engines_live() -> dict[str, int]:
    """Engines that have a live worker now, with how many: where new work may be placed."""
    since = timezone.now() - timedelta(seconds=settings.STUDIO_WORKER_LEASE)
    leases = list(Worker.objects.filter(stopped_at__isnull=True, dead_at__isnull=True, heartbeat_at__gte=since)
                  .exclude(engine_id=""))
    dead = workers_dead({w.key for w in leases})
    live: dict[str, int] = {}
    for lease in leases:
        if lease.key not in dead:
            live[lease.engine_id] = live.get(lease.engine_id, 0) + 1
    return live
