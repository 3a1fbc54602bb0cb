"""Send an already-stored event to a channel group. Callers write the row first, then call this."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def broadcast(group: str, message: dict[str, Any]) -> None:
    """Best effort: a viewer that misses a frame catches up from the database on reconnect."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "studio.event", **message})
    except Exception:  # the row is stored; live delivery is an optimisation
        log.exception("broadcast to %s failed", group)


def stream_group(stream: str, key: int) -> str:
    """The channel group of one live stream, e.g. `episodes-12`: the writer broadcasts to it and the
    stream consumer of `/ws/<stream>/<key>/` listens to it."""
    return f"{stream}-{key}"
