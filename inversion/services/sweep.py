"""Remove containers the studio left behind (worker crash, killed process)."""

from __future__ import annotations

import logging

from django.conf import settings

from inversion.engine.sandbox import sweep_containers
from studio.lib.dockerctx import docker_client, docker_status

log = logging.getLogger(__name__)


def sweep_leftovers() -> int:
    """Remove every studio-labelled container of this installation; returns how many went."""
    if not docker_status(fresh=True).ok:
        return 0
    client = docker_client()
    try:
        removed = sweep_containers(client, instance=settings.STUDIO_INSTANCE)
    finally:
        client.close()
    if removed:
        log.warning("swept %d leftover studio containers", removed)
    return removed
