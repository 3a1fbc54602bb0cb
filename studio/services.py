"""Writes of the studio shell."""

from __future__ import annotations

import secrets
import socket
import threading

from studio.models import JobPing


def record_ping(*, marker: str) -> str:
    ping = JobPing.objects.create(marker=marker, worker=f"{socket.gethostname()}/{threading.current_thread().name}")
    return ping.worker


def admin_ensure(*, username: str, password: str = "", reset: bool = False) -> tuple[bool, str]:
    """Create the admin once (or set a new password with `reset`). Returns (changed, the password to
    show: generated, or "" when it came from the caller); nothing changes for an existing admin."""
    from django.contrib.auth import get_user_model

    users = get_user_model()
    user = users.objects.filter(username=username).first()
    if user is not None and not reset:
        return False, ""
    shown = "" if password else secrets.token_urlsafe(12)
    password = password or shown
    if user is None:
        users.objects.create_superuser(username=username, email="", password=password)
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
    return True, shown
