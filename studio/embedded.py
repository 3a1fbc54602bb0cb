"""The in-process Celery worker of the embedded mode.

In the embedded mode jobs travel over kombu's memory:// transport, which only exists inside
one process, so the ASGI server process runs the worker itself, in a daemon thread. The
thread pool lets a build, an episode and a validation run side by side.
"""

from __future__ import annotations

import logging
import threading

from celery.worker import WorkController
from django.conf import settings

from studio.celery import app
from studio.lib.dockerctx import engine_id
from studio.lib.jobs import engine_queue
from studio.lib.workers import embedded_worker_set

log = logging.getLogger(__name__)
QUEUES = ("build", "episode", "validate", "solve")

_worker: WorkController | None = None
_lock = threading.Lock()


class _ThreadWorker(WorkController):
    """A worker that says when its consumer is ready (no signal handlers: it is not the main thread)."""

    def __init__(self, *args, **kwargs) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer) -> None:
        self.ready.set()


def start_embedded_worker(concurrency: int | None = None, timeout: float = 30.0) -> WorkController:
    """Start the worker thread once per process and wait until it consumes."""
    global _worker
    with _lock:
        if _worker is not None:
            return _worker
        worker = _ThreadWorker(
            app=app,
            concurrency=concurrency or settings.STUDIO_WORKER_CONCURRENCY,
            pool="threads",
            queues=[*QUEUES, *(engine_queue(q, engine_id()) for q in QUEUES)],
            loglevel="WARNING",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname="embedded@studio",
        )
        thread = threading.Thread(target=worker.start, name="embedded-celery-worker", daemon=True)
        thread.start()
        if not worker.ready.wait(timeout):
            raise RuntimeError(f"the embedded Celery worker did not start within {timeout:.0f} s")
        _worker = worker
        embedded_worker_set(running=True, detail=f"{worker.concurrency} threads")
        from studio.heartbeat import start_heartbeat  # sweeps what a dead worker left, then beats

        start_heartbeat(kind="embedded", queues=",".join(QUEUES))
        log.info("embedded worker started (%s threads, queues %s)", worker.concurrency, ",".join(QUEUES))
        return worker


def stop_embedded_worker() -> None:
    global _worker
    with _lock:
        if _worker is None:
            return
        _worker.stop(in_sighandler=False)
        _worker = None
        embedded_worker_set(running=False)
        from studio.heartbeat import stop_heartbeat

        stop_heartbeat()
