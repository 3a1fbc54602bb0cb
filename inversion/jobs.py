"""Celery jobs of the inversion app: load ids, call one service. Queues: build, episode, validate."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="inversion.jobs.episode_run_job", bind=True)
def episode_run_job(self, episode_id: int) -> str:
    """Run one episode (queue `episode`); the service hands valid breaks to the validate queue.
    While the engine does not answer, the job waits (is retried) without claiming the episode."""
    from inversion.models import Episode
    from studio.lib.jobs import wait_for_engine

    wait_for_engine(self)
    from inversion.services.episodes import episode_run

    episode = Episode.objects.filter(pk=episode_id).select_related("gold__repository").first()
    if episode is None:
        return "missing"
    return episode_run(episode=episode).status


@shared_task(name="inversion.jobs.repository_fetch_job")
def repository_fetch_job(repository_id: int) -> str:
    """Fetch a PyPI or git source added from the web form (build queue: it waits on the network)."""
    from inversion.models import Repository
    from inversion.services.repositories import repository_fetch

    repository = Repository.objects.filter(pk=repository_id).first()
    if repository is None:
        return "missing"
    return repository_fetch(repository=repository).status


@shared_task(name="inversion.jobs.gold_build_job", bind=True)
def gold_build_job(self, gold_id: int) -> str:
    """Build a queued gold environment and take its baseline (build queue); waits for the engine."""
    from inversion.models import GoldEnvironment
    from studio.lib.jobs import wait_for_engine

    wait_for_engine(self)
    from inversion.services.golds import gold_execute

    gold = GoldEnvironment.objects.select_related("repository").get(pk=gold_id)
    return gold_execute(gold=gold).status
