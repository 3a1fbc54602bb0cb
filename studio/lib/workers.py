"""Which in-process workers run here, for health pages; the runtime that starts them reports in.

The embedded worker lives in `studio.embedded` (a runtime module near the top); pages read its
state from here, so no page imports the runtime.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_embedded = {"running": False, "detail": ""}


def embedded_worker_set(*, running: bool, detail: str = "") -> None:
    with _lock:
        _embedded.update(running=running, detail=detail)


def embedded_worker_state() -> dict:
    with _lock:
        return dict(_embedded)
