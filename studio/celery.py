"""The Celery app. Jobs live in each app's `jobs.py` (the word *task* belongs to the domain)."""

import os

from celery import Celery
from celery.signals import celeryd_after_setup, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="jobs")


@app.on_after_configure.connect
def _connect_db_hygiene(sender, **kwargs) -> None:
    """Close stale DB connections around every job.

    Celery's Django fixup does this only for workers started from the CLI; the embedded worker
    thread is a bare WorkController, so without this each pool thread would hold its connection.
    """
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_close_stale_connections, weak=False)
    task_postrun.connect(_close_stale_connections, weak=False)


def _close_stale_connections(**kwargs) -> None:
    """Like django.db.close_old_connections, but never inside a transaction: a job run in-process
    by a caller that holds an atomic block (a test, an eager job) must keep its connection."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


@worker_process_init.connect
def _pool_process_heartbeat(**kwargs) -> None:
    """Each pool process runs jobs under its own worker key: its own lease and sweep."""
    from studio.heartbeat import start_heartbeat

    start_heartbeat(kind="celery")


@worker_ready.connect
def _worker_heartbeat(**kwargs) -> None:
    """Thread and solo pools run jobs in the main process; prefork workers sweep at start here too."""
    from studio.heartbeat import start_heartbeat

    start_heartbeat(kind="celery")


@celeryd_after_setup.connect
def _engine_queues(sender, instance, **kwargs) -> None:
    """A worker also consumes its engine's queues (`build@<engine>`, ...): work that needs an image
    of this engine is routed there (see studio.lib.jobs.engine_queue)."""
    from studio.lib.dockerctx import engine_id
    from studio.lib.jobs import engine_queue

    queues = instance.app.amqp.queues
    for name in [q for q in list(queues.consume_from or {}) if "@" not in q]:
        queues.select_add(engine_queue(name, engine_id()))
