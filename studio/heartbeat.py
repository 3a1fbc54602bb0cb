"""The heartbeat of a process that runs jobs (the embedded server, each Celery pool process): its lease
is renewed every few seconds, and it sweeps what dead workers left (at start, then every half minute).
A runtime module: it imports the apps' services, and the runtime starts it."""

from __future__ import annotations

import atexit
import logging
import threading

from django.db import close_old_connections

log = logging.getLogger(__name__)
BEAT_SECONDS = 10.0
SWEEP_EVERY = 3  # beats

_started: dict[int, threading.Event] = {}
_lock = threading.Lock()


def sweep_now() -> None:
    """Rows and containers of dead workers (this engine's containers only)."""
    from inversion.services.sweep import sweep_dead_containers, sweep_dead_rows
    from tasks.services.exports import export_sweep_dead
    from tasks.services.solver_runs import solver_run_sweep_dead

    sweep_dead_rows()
    export_sweep_dead()
    solver_run_sweep_dead()
    sweep_dead_containers()


def _beat(kind: str, queues: str, stop: threading.Event) -> None:
    from inversion.services.workers import worker_beat, worker_stop

    beats = 1  # start_heartbeat beat and swept already
    stop.wait(BEAT_SECONDS)
    while not stop.is_set():
        try:
            worker_beat(kind=kind, queues=queues)
            if beats % SWEEP_EVERY == 0:
                sweep_now()
        except Exception as exc:  # the database or the engine is down for a moment: beat again later
            if not stop.is_set():
                log.warning("heartbeat failed: %s: %s", type(exc).__name__, str(exc)[:300])
        finally:
            close_old_connections()
        beats += 1
        stop.wait(BEAT_SECONDS)
    try:
        worker_stop()
    finally:
        close_old_connections()


def _drive(stop: threading.Event) -> None:
    """Campaign driver steps that are due (every STUDIO_CAMPAIGN_TICK seconds, in every worker process:
    the campaign row's claim keeps it to one step at a time, and no pool slot is needed for it)."""
    from django.conf import settings

    from campaigns.services.campaigns import campaigns_tick_due

    while not stop.wait(settings.STUDIO_CAMPAIGN_TICK):
        try:
            campaigns_tick_due()
        except Exception as exc:  # the database is away for a moment: the next step retries
            if not stop.is_set():
                log.warning("campaign step failed: %s: %s", type(exc).__name__, str(exc)[:300])
        finally:
            close_old_connections()


def start_heartbeat(*, kind: str, queues: str = "") -> threading.Event:
    """Start this process's heartbeat once (per pid); the first beat and sweep happen before it returns."""
    import os

    from inversion.services.workers import worker_beat

    with _lock:
        pid = os.getpid()
        if pid in _started:
            return _started[pid]
        worker_beat(kind=kind, queues=queues)
        try:
            sweep_now()
        except Exception:
            log.exception("start-up sweep failed")
        stop = threading.Event()
        threading.Thread(target=_beat, args=(kind, queues, stop), name="studio-heartbeat", daemon=True).start()
        threading.Thread(target=_drive, args=(stop,), name="studio-campaigns", daemon=True).start()
        atexit.register(stop.set)  # no beat into a database or a log that are going away
        _started[pid] = stop
        return stop


def stop_heartbeat() -> None:
    import os

    with _lock:
        stop = _started.pop(os.getpid(), None)
    if stop is not None:
        stop.set()
