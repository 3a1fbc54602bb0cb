"""The Docker client for this studio, and a cheap cached health check for banners and guards."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass

import docker
from django.conf import settings


@dataclass(frozen=True)
class DockerStatus:
    ok: bool
    endpoint: str
    detail: str


_cache: tuple[float, DockerStatus] | None = None
_lock = threading.Lock()
CACHE_SECONDS = 5.0


def endpoint() -> str:
    return settings.DOCKER_HOST or "unix:///var/run/docker.sock"


def engine_id(url: str | None = None) -> str:
    """A short, stable name of the Docker engine this process uses (`STUDIO_ENGINE`, else derived
    from the endpoint: the host name plus the socket path, or host and port of a TCP endpoint).
    Queue names carry it (`episode@<engine>`), so it must not change while the engine runs."""
    if url is None and settings.STUDIO_ENGINE:
        return settings.STUDIO_ENGINE
    url = url or endpoint()
    scheme, _, rest = url.partition("://")
    where = f"{socket.gethostname()}{rest}" if scheme in ("unix", "npipe") else rest
    return re.sub(r"[^a-zA-Z0-9]+", "-", where).strip("-").lower()[:80] or "engine"


def docker_client_for(url: str, timeout: int = 60) -> docker.DockerClient:
    """A client of another engine (the sweep of a dead worker's engine)."""
    return docker.DockerClient(base_url=url, timeout=timeout)


def docker_client(timeout: int = 120) -> docker.DockerClient:
    """A new client; cheap, and clients are not shared across threads."""
    return docker.DockerClient(base_url=endpoint(), timeout=timeout)


def docker_status(*, fresh: bool = False) -> DockerStatus:
    global _cache
    now = time.monotonic()
    with _lock:
        if not fresh and _cache and now - _cache[0] < CACHE_SECONDS:
            return _cache[1]
    status = _probe()
    with _lock:
        _cache = (now, status)
    return status


def _probe() -> DockerStatus:
    try:
        client = docker.DockerClient(base_url=endpoint(), timeout=3)
        version = client.version().get("Version", "?")
        client.close()
        return DockerStatus(True, endpoint(), f"Docker engine {version}")
    except Exception as exc:  # any failure means "unreachable" for the banner
        return DockerStatus(False, endpoint(), _short(exc))


def _short(exc: Exception) -> str:
    text = str(exc)
    if "FileNotFoundError" in text or "No such file" in text:
        return f"no Docker socket at {endpoint()} (is dockerd running? try scripts/docker-engine)"
    if "Connection refused" in text:
        return f"connection refused at {endpoint()}"
    if "Permission denied" in text:
        return f"permission denied on {endpoint()} (add the user to the docker group)"
    return text[:300]
