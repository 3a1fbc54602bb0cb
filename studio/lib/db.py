"""Database helpers every layer may use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

T = TypeVar("T")


def retry_locked(fn: Callable[..., T], *args, attempts: int = 200, **kwargs) -> T:
    """Run a short DB write again while SQLite says "locked" (embedded mode: worker threads and
    the server share one database file; the in-memory test database has no busy timeout)."""
    for i in range(attempts):
        try:
            return fn(*args, **kwargs)
        except OperationalError as exc:
            if "locked" not in str(exc) or i == attempts - 1:
                raise
            time.sleep(0.02)
    raise AssertionError("unreachable")
