"""Live streams of episode events and gold build logs (see studio.lib.streams for the protocol)."""

from __future__ import annotations

from django.template.loader import render_to_string

from inversion.models import BuildEvent, Episode, EpisodeEvent, GoldEnvironment
from studio.lib.streams import SeqStreamConsumer


def episode_group(episode_id: int) -> str:
    return f"episode-{episode_id}"


def gold_group(gold_id: int) -> str:
    return f"gold-{gold_id}"


class EpisodeStreamConsumer(SeqStreamConsumer):
    def _id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["episode_id"])

    def group_name(self) -> str:
        return episode_group(self._id())

    def exists(self) -> bool:
        return Episode.objects.filter(pk=self._id()).exists()

    def load_rows(self, after: int) -> list[tuple[int, str]]:
        events = list(EpisodeEvent.objects.filter(episode_id=self._id(), seq__gt=after).order_by("seq")[:500])
        if not events:
            return []
        episode = Episode.objects.get(pk=self._id())
        return [
            (ev.seq, render_to_string("inversion/partials/event_frame.html", {"ev": ev, "episode": episode}))
            for ev in events
        ]


class GoldLogConsumer(SeqStreamConsumer):
    def _id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["gold_id"])

    def group_name(self) -> str:
        return gold_group(self._id())

    def exists(self) -> bool:
        return GoldEnvironment.objects.filter(pk=self._id()).exists()

    def load_rows(self, after: int) -> list[tuple[int, str]]:
        events = list(BuildEvent.objects.filter(gold_id=self._id(), seq__gt=after).order_by("seq")[:2000])
        if not events:
            return []
        gold = GoldEnvironment.objects.get(pk=self._id())
        return [
            (ev.seq, render_to_string("inversion/partials/log_frame.html", {"ev": ev, "gold": gold}))
            for ev in events
        ]
