"""Queue background jobs by name: the one way services hand work to the workers.

By name (`"inversion.jobs.gold_build_job"`), so a service never imports a jobs module (jobs sit
above services) and one app can hand work to another without importing it. Routing to the
build / episode / validate / solve queues happens by name too (`CELERY_TASK_ROUTES`).
"""

from __future__ import annotations

import importlib

from celery import current_app
from django.db import transaction


def dispatch(job: str, *args, on_commit: bool = True) -> None:
    """Queue `job` with `args`; by default once the current transaction commits, so the worker
    finds the rows it loads. With `task_always_eager` (tests) the job runs here and now."""

    def send() -> None:
        if current_app.conf.task_always_eager:
            importlib.import_module(job.rpartition(".")[0])  # registers it (autodiscovery is lazy)
            current_app.tasks[job].apply(args=list(args))
        else:
            current_app.send_task(job, args=list(args))

    if on_commit:
        transaction.on_commit(send)
    else:
        send()
