"""Live streams of the inversion app: episode events and gold build logs (protocol: studio.lib.streams)."""

from __future__ import annotations

from inversion.models import BuildEvent, Episode, EpisodeEvent, GoldEnvironment
from studio.lib.streams import RowStream

EPISODE_EVENTS = RowStream("episodes", Episode, EpisodeEvent, "episode", "inversion/partials/event_frame.html", 500)
GOLD_LOG = RowStream("golds", GoldEnvironment, BuildEvent, "gold", "inversion/partials/log_frame.html", 2000)
