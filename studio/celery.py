"""The Celery app. Jobs live in each app's `jobs.py` (the word *task* belongs to the domain)."""

import os

from celery import Celery

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
    from django.db import close_old_connections

    task_prerun.connect(lambda **kw: close_old_connections(), weak=False)
    task_postrun.connect(lambda **kw: close_old_connections(), weak=False)
