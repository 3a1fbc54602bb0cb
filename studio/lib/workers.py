"""Worker processes: who this one is (`worker_id`), whether another is alive (`process_alive`), and
the embedded worker's state for health pages (the runtime that starts it reports in here, so no page
imports the runtime)."""

from __future__ import annotations

import os
import socket
import threading

_lock = threading.Lock()
_embedded = {"running": False, "detail": ""}


def embedded_worker_set(*, running: bool, detail: str = "") -> None:
    with _lock:
        _embedded.update(running=running, detail=detail)


def embedded_worker_state() -> dict:
    with _lock:
        return dict(_embedded)


def _start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


_identity: tuple[int, str] | None = None


def worker_id() -> str:
    """This process, as `host:pid:start` (the start time tells a reused pid apart). Computed per pid, so a
    forked pool child gets its own."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}")
    return _identity[1]


def process_alive(key: str) -> bool | None:
    """Whether the process a worker id names still runs: True/False on this host, None elsewhere."""
    host, _, rest = key.partition(":")
    pid, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return bool(ticks) and _start_ticks(int(pid)) == ticks
