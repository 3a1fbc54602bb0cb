"""Remove containers and validation images the studio left behind (worker crash, killed process)."""

from __future__ import annotations

import logging

from django.conf import settings

from inversion.engine.runtime.sandbox import sweep_containers, sweep_images
from studio.lib.dockerctx import docker_client, docker_status

log = logging.getLogger(__name__)


def sweep_leftovers() -> int:
    """Remove every studio-labelled container of this installation, and its validation images
    (a validation removes its image when it ends; one still there belongs to a dead worker).
    Gold images stay: they are reused. Returns how many went."""
    if not docker_status(fresh=True).ok:
        return 0
    client = docker_client()
    try:
        containers = sweep_containers(client, instance=settings.STUDIO_INSTANCE)
        images = sweep_images(client, instance=settings.STUDIO_INSTANCE, kind="validate")
    finally:
        client.close()
    if containers or images:
        log.warning("swept %d leftover studio containers and %d validation images", containers, images)
    return containers + images
