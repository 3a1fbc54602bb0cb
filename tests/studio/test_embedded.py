"""A real job goes through the broker to a worker thread and writes to the database."""

import time
import uuid

import pytest
from django.conf import settings

from studio.embedded import start_embedded_worker, stop_embedded_worker
from studio.jobs import ping_job
from studio.models import JobPing

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded_worker():
    """The worker thread and its heartbeat end with the test (no beat into later tests' databases)."""
    start_embedded_worker()
    yield
    stop_embedded_worker()


def test_job_runs_end_to_end_on_embedded_worker(embedded_worker):
    marker = uuid.uuid4().hex
    ping_job.delay(marker)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not JobPing.objects.filter(marker=marker).exists():
        time.sleep(0.05)
    ping = JobPing.objects.get(marker=marker)
    assert ping.worker.split("/", 1)[1].startswith("ThreadPoolExecutor")  # a worker pool thread, not this one
    assert ("memory://localhost/" if settings.EMBEDDED else settings.REDIS_URL) == settings.CELERY_BROKER_URL
