"""Queue background jobs by name: the one way services hand work to the workers.

By name (`"inversion.jobs.gold_build_job"`), so a service never imports a jobs module (jobs sit
above services) and one app can hand work to another without importing it. Routing to the
build / episode / validate / solve queues happens by name too (`CELERY_TASK_ROUTES`).
"""

from __future__ import annotations

import importlib

from celery import current_app
from django.db import transaction


def engine_queue(queue: str, engine: str) -> str:
    """The queue of one Docker engine's workers (`episode@<engine>`): work that needs an image
    that lives on that engine goes there. Every worker also consumes the plain queues."""
    return f"{queue}@{engine}" if engine else queue


def dispatch(job: str, *args, on_commit: bool = True, queue: str | None = None) -> None:
    """Queue `job` with `args`; by default once the current transaction commits, so the worker
    finds the rows it loads. `queue` overrides the route (an engine's queue). With
    `task_always_eager` (tests) the job runs here and now."""

    def send() -> None:
        if current_app.conf.task_always_eager:
            importlib.import_module(job.rpartition(".")[0])  # registers it (autodiscovery is lazy)
            current_app.tasks[job].apply(args=list(args))
        elif queue:
            current_app.send_task(job, args=list(args), queue=queue)
        else:
            current_app.send_task(job, args=list(args))

    if on_commit:
        transaction.on_commit(send)
    else:
        send()


ENGINE_RETRY_SECONDS = 10


def wait_for_engine(task) -> None:
    """Before a job that needs Docker claims its row: while this worker's engine does not answer
    (restarted, down), put the job back for later instead of failing it (`Retry` is raised), on the
    queue it came from. Claims make a job that runs twice harmless; eager jobs (tests) never wait."""
    from studio.lib.dockerctx import docker_status

    if current_app.conf.task_always_eager or docker_status(fresh=True).ok:
        return
    queue = (task.request.delivery_info or {}).get("routing_key") or None
    raise task.retry(countdown=ENGINE_RETRY_SECONDS, max_retries=None, queue=queue)
