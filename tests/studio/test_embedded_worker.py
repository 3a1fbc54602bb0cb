"""A real job goes through the broker to a worker thread and writes to the database."""

import time
import uuid

import pytest
from django.conf import settings

from inversion.jobs import ping_job
from studio.embedded import start_embedded_worker
from studio.models import JobPing

pytestmark = pytest.mark.django_db(transaction=True)


def test_job_runs_end_to_end_on_embedded_worker():
    start_embedded_worker()
    marker = uuid.uuid4().hex
    ping_job.delay(marker)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not JobPing.objects.filter(marker=marker).exists():
        time.sleep(0.05)
    ping = JobPing.objects.get(marker=marker)
    assert "embedded-celery-worker" in ping.worker or "ThreadPool" in ping.worker or ping.worker
    assert ("memory://localhost/" if settings.EMBEDDED else settings.REDIS_URL) == settings.CELERY_BROKER_URL
