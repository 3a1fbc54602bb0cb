"""Celery jobs of the tasks app (queue `validate`; solver runs on `solve`): load ids, call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tasks.jobs.task_materialize_job", bind=True)
def task_materialize_job(self, episode_id: int) -> int | None:
    """Materialize and validate a broken episode into a draft task; returns the task id or None.
    Waits (is retried) while the engine does not answer."""
    from inversion.models import Episode
    from studio.lib.jobs import wait_for_engine

    wait_for_engine(self)
    from tasks.services.materialize import task_materialize

    episode = Episode.objects.filter(pk=episode_id).select_related("gold__repository").first()
    if episode is None:
        return None
    task = task_materialize(episode=episode)
    return task.pk if task else None


@shared_task(name="tasks.jobs.export_catalog_job")
def export_catalog_job(export_id: int) -> str | None:
    """Build a catalog zip; progress and the refusal (if any) land on the Export row the UI polls."""
    from studio.lib.exceptions import ApplicationError
    from tasks.models import Export
    from tasks.services.exports import export_run

    export = Export.objects.filter(pk=export_id).select_related("version__catalog").first()
    if export is None:
        return None
    try:
        return export_run(export=export).path
    except ApplicationError:
        return None  # recorded on the row as status=failed with the message


@shared_task(name="tasks.jobs.solver_run_job")
def solver_run_job(run_id: int) -> str | None:
    """Queue `solve`: drive Harbor over a catalog version; progress and trials land on the rows."""
    from tasks.models import SolverRun
    from tasks.services.solver_runs import solver_run_execute

    run = SolverRun.objects.filter(pk=run_id).select_related("version__catalog").first()
    return solver_run_execute(run=run).status if run else None
