"""Episode events: stored with the next `seq`, then broadcast (the live-stream protocol)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max

from inversion.models import EpisodeEvent
from studio.lib.broadcast import broadcast, stream_group
from studio.lib.db import retry_locked
from studio.lib.exceptions import ApplicationError


def episode_event_add(*, episode_id: int, kind: str, payload: dict, duration_ms: int = 0,
                      prompt_tokens: int = 0, completion_tokens: int = 0) -> EpisodeEvent:
    """Store the event with the next seq (retrying a lost race), then broadcast its seq."""
    def insert() -> EpisodeEvent:
        with transaction.atomic():
            last = EpisodeEvent.objects.filter(episode_id=episode_id).aggregate(m=Max("seq"))["m"] or 0
            return EpisodeEvent.objects.create(
                episode_id=episode_id, seq=last + 1, kind=kind, payload=payload,
                duration_ms=max(0, duration_ms), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    for _ in range(10):
        try:
            event = retry_locked(insert)
            break
        except IntegrityError:
            continue
    else:
        raise ApplicationError(f"could not store an event of episode {episode_id}")
    broadcast(stream_group("episodes", episode_id), {"seq": event.seq})
    return event
