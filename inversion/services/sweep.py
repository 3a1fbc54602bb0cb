"""What a dead worker leaves behind ends in a defined state: its rows say why, its containers and
validation images on this engine go. A live worker's work is never touched, whichever process sweeps
(workers sweep at start and every half minute; several may sweep at once: every update is conditional).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from inversion.engine.runtime import labels as lbl
from inversion.models import Episode, EpisodeEvent, GoldEnvironment, Repository, Worker
from inversion.services.episodes import episode_dispatch
from inversion.services.events import episode_event_add
from inversion.services.workers import workers_dead
from studio.lib.db import retry_locked
from studio.lib.dockerctx import docker_client, docker_client_for, docker_status, endpoint

log = logging.getLogger(__name__)
LOST = "interrupted: worker lost"


def _mutated(episode_id: int) -> bool:
    events = EpisodeEvent.objects.filter(episode_id=episode_id)
    return events.filter(kind="setenv").exists() or events.filter(kind="command", payload__mutated=True).exists()


def _end_episode(episode: Episode, reason: str) -> bool:
    ended = retry_locked(Episode.objects.filter(pk=episode.pk, status=episode.status, worker=episode.worker).update,
                         status=Episode.Status.ERROR, reason=reason, finished_at=timezone.now())
    if ended:
        episode_event_add(episode_id=episode.pk, kind="status", payload={"status": "error", "message": reason})
    return bool(ended)


def _requeue_episode(episode: Episode) -> bool:
    """A run that changed nothing yet loses nothing by starting again on another worker."""
    again = retry_locked(Episode.objects.filter(pk=episode.pk, status=Episode.Status.RUNNING, worker=episode.worker).update,
                         status=Episode.Status.QUEUED, worker="", started_at=None)
    if again:
        episode_event_add(episode_id=episode.pk, kind="status", payload={
            "status": "queued", "message": f"{LOST} ({episode.worker}) before it changed anything: queued again"})
        episode_dispatch(episode=Episode.objects.select_related("gold").get(pk=episode.pk))
    return bool(again)


def sweep_dead_rows() -> dict[str, int]:
    """Rows claimed by workers that are dead: episodes (queued again when they had changed nothing,
    else ended), validations, gold builds and fetches (ended), each with the reason."""
    episodes = list(Episode.objects.filter(status__in=[Episode.Status.RUNNING, Episode.Status.VALIDATING])
                    .exclude(worker=""))
    golds = list(GoldEnvironment.objects.filter(status__in=[GoldEnvironment.Status.BUILDING, GoldEnvironment.Status.TESTING])
                 .exclude(worker=""))
    fetches = list(Repository.objects.filter(status=Repository.Status.FETCHING).exclude(fetch_worker=""))
    keys = {e.worker for e in episodes} | {g.worker for g in golds} | {r.fetch_worker for r in fetches}
    dead = workers_dead(keys) if keys else set()
    done = {"requeued": 0, "episodes": 0, "golds": 0, "fetches": 0}
    for episode in (e for e in episodes if e.worker in dead):
        if episode.status == Episode.Status.RUNNING and not _mutated(episode.pk):
            done["requeued"] += _requeue_episode(episode)
        else:
            stage = " during validation" if episode.status == Episode.Status.VALIDATING else ""
            done["episodes"] += _end_episode(episode, f"{LOST}{stage} ({episode.worker})")
    for gold in (g for g in golds if g.worker in dead):
        done["golds"] += retry_locked(
            GoldEnvironment.objects.filter(pk=gold.pk, status=gold.status, worker=gold.worker).update,
            status=GoldEnvironment.Status.FAILED, error=f"{LOST} ({gold.worker})", finished_at=timezone.now())
    for repo in (r for r in fetches if r.fetch_worker in dead):
        done["fetches"] += retry_locked(
            Repository.objects.filter(pk=repo.pk, status=Repository.Status.FETCHING, fetch_worker=repo.fetch_worker).update,
            status=Repository.Status.FAILED, error=f"{LOST} ({repo.fetch_worker}); add the source again to retry")
    return done


def sweep_dead_containers() -> int:
    """Containers and validation images whose worker is dead (or, unlabelled, stopped), on this
    process's engine and on every other engine a worker ran on that answers from here (one
    machine with several engines, or TCP endpoints): a worker killed on engine A leaves no
    container there even when only workers of engine B are left."""
    removed = _sweep_engine(docker_client()) if docker_status(fresh=True).ok else 0
    here = endpoint()
    others = set(Worker.objects.exclude(engine=here).values_list("engine", flat=True).distinct())
    for url in sorted(others):
        if url.startswith("unix://") and not Path(url[len("unix://"):]).exists():
            continue  # another host's local socket: that host's workers sweep it
        try:
            client = docker_client_for(url, timeout=10)
            client.ping()
        except Exception:
            continue  # down, or not reachable from here
        removed += _sweep_engine(client)
    return removed


def _sweep_engine(client) -> int:
    removed = 0
    try:
        managed = {"label": [f"{lbl.MANAGED}=1"]}
        # the plain list (no inspect per container): others remove containers meanwhile
        containers = client.api.containers(all=True, filters=managed)
        images = client.images.list(filters={"label": [f"{lbl.MANAGED}=1", f"{lbl.KIND}=validate"]})
        keys = {(c.get("Labels") or {}).get(lbl.WORKER, "") for c in containers}
        keys |= {i.labels.get(lbl.WORKER, "") for i in images}
        dead = workers_dead(keys - {""})
        ended = _ended_episodes(containers)
        for container in containers:
            labels = container.get("Labels") or {}
            key = labels.get(lbl.WORKER, "")
            mine = labels.get(lbl.INSTANCE) == settings.STUDIO_INSTANCE  # another instance's strays are its own
            stray = not key and mine and container.get("State") != "running"
            if key in dead or stray or labels.get(lbl.OWNER) in ended:
                removed += _quietly(lambda c=container: client.api.remove_container(c["Id"], force=True, v=True))
        for image in images:
            if image.labels.get(lbl.WORKER, "") in dead:
                removed += _quietly(lambda i=image: client.images.remove(i.id, force=True))
        # a toolbox volume (`runtime.trust`) no container uses any more: its sandbox's removal was cut short
        for volume in client.volumes.list(filters={"label": f"{lbl.MANAGED}=1", "dangling": True}):
            if volume.name.startswith("studio-trust-"):
                removed += _quietly(lambda v=volume: v.remove(force=True))
    finally:
        client.close()
    if removed:
        log.warning("swept %d containers and validation images of dead workers", removed)
    return removed


def _ended_episodes(containers: list[dict]) -> set[str]:
    """Owners (`episode:<id>`) of this studio's episode containers whose episode has ended: left behind
    when the engine went away while its (live) worker ended the episode, so nobody could remove them."""
    ids = {}
    for c in containers:
        labels = c.get("Labels") or {}
        owner = labels.get(lbl.OWNER, "")
        if labels.get(lbl.KIND) == "episode" and labels.get(lbl.INSTANCE) == settings.STUDIO_INSTANCE \
                and owner.startswith("episode:") and owner[8:].isdigit():
            ids[int(owner[8:])] = owner
    if not ids:
        return set()
    ended = Episode.objects.filter(pk__in=list(ids)).exclude(status__in=Episode.ACTIVE).values_list("pk", flat=True)
    return {ids[pk] for pk in ended}


def _quietly(remove) -> int:
    try:
        remove()
        return 1
    except Exception:  # gone already, or another sweeper got it first
        return 0

