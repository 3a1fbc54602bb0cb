"""Writes of the studio shell."""

from __future__ import annotations

import socket
import threading

from studio.models import JobPing


def record_ping(*, marker: str) -> str:
    ping = JobPing.objects.create(marker=marker, worker=f"{socket.gethostname()}/{threading.current_thread().name}")
    return ping.worker
