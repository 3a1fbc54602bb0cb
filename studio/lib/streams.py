"""A websocket consumer for append-only streams of numbered rows (episode steps, build logs).

Protocol, so that a reload or a reconnect loses nothing and duplicates nothing:
1. The page renders a snapshot from the database and remembers the last `seq` it shows.
2. The socket connects with `?after=<seq>`; the consumer joins the group first, then sends
   every stored row with a larger seq, then relays live events.
3. Live events carry only their `seq`; the consumer fetches all rows after the last one it
   sent (so a gap heals itself) and skips anything it already sent.
The client (static/js/studio.js) also drops frames whose seq it already shows and reconnects
with its own latest seq.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db.models import Model
from django.template.loader import render_to_string

from studio.lib.broadcast import stream_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


# Many viewers of one stream get the same live event at once: the first to ask loads and renders
# the rows after its seq, the others (same stream, same position) await that result instead of
# querying again. A result is reused only if its load started after the wanted seq was stored.
_SHARED: dict[tuple[str, int], tuple[int, float, asyncio.Future]] = {}
_SHARED_TTL = 2.0


class SeqStreamConsumer(AsyncWebsocketConsumer):
    """Subclasses define `group_name`, `load_rows(after)` and `allowed(user)`."""

    last_seq: int = 0

    def group_name(self) -> str:
        raise NotImplementedError

    def allowed(self, user) -> bool:
        return True

    def load_rows(self, after: int) -> list[tuple[int, str]]:
        """Return (seq, html) for every stored row with seq > after, in order. Runs in a thread."""
        raise NotImplementedError

    def exists(self) -> bool:
        return True

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(self.exists)():
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not await database_sync_to_async(self.allowed)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.last_seq = max(0, int(query.get("after", ["0"])[0]))
        except ValueError:
            self.last_seq = 0
        self.group = self.group_name()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_after()

    async def disconnect(self, code) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def studio_event(self, message: dict) -> None:
        seq = message.get("seq", 0)
        if seq <= self.last_seq:
            return
        await self._send_after(wanted=seq)

    async def _rows_after(self, after: int, wanted: int) -> list[tuple[int, str]]:
        key, now = (self.group, after), time.monotonic()
        hit = _SHARED.get(key)
        if (hit and hit[0] >= wanted and now - hit[1] < _SHARED_TTL
                and hit[2].get_loop() is asyncio.get_running_loop()):
            return await asyncio.shield(hit[2])
        future = asyncio.ensure_future(database_sync_to_async(self.load_rows)(after))
        _SHARED[key] = (wanted, now, future)
        if len(_SHARED) > 512:
            for k in [k for k, v in _SHARED.items() if now - v[1] >= _SHARED_TTL]:
                _SHARED.pop(k, None)
        try:
            return await asyncio.shield(future)
        except Exception:
            _SHARED.pop(key, None)
            raise

    async def _send_after(self, wanted: int = 0) -> None:
        if wanted:
            rows = await self._rows_after(self.last_seq, wanted)
        else:  # connecting: always a fresh snapshot
            rows = await database_sync_to_async(self.load_rows)(self.last_seq)
        for seq, html in rows:
            if seq <= self.last_seq:
                continue
            await self.send(text_data=html)
            self.last_seq = seq

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Clients only listen; anything they send is ignored."""


@dataclass(frozen=True)
class RowStream:
    """One kind of live stream: numbered `rows` (a model with `seq`) under a `parent` row, each
    rendered with `template` given `ev` (the row) and the parent under `parent_field`."""

    name: str  # the URL segment and group prefix: /ws/<name>/<pk>/, group <name>-<pk>
    parent: type[Model]
    rows: type[Model]
    parent_field: str
    template: str
    limit: int = 500


class RowStreamConsumer(SeqStreamConsumer):
    """The one consumer of every row stream; routing passes the stream: `as_asgi(stream=...)`."""

    stream: RowStream

    def __init__(self, *args, stream: RowStream, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream

    def _key(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["pk"])

    def group_name(self) -> str:
        return stream_group(self.stream.name, self._key())

    def exists(self) -> bool:
        return self.stream.parent.objects.filter(pk=self._key()).exists()

    def load_rows(self, after: int) -> list[tuple[int, str]]:
        s = self.stream
        rows = list(s.rows.objects.filter(**{f"{s.parent_field}_id": self._key(), "seq__gt": after})
                    .order_by("seq")[: s.limit])
        if not rows:
            return []
        parent = s.parent.objects.get(pk=self._key())
        return [(row.seq, render_to_string(s.template, {"ev": row, s.parent_field: parent})) for row in rows]
