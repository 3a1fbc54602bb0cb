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

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


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
        if message.get("seq", 0) <= self.last_seq:
            return
        await self._send_after()

    async def _send_after(self) -> None:
        rows = await database_sync_to_async(self.load_rows)(self.last_seq)
        for seq, html in rows:
            if seq <= self.last_seq:
                continue
            await self.send(text_data=html)
            self.last_seq = seq

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Clients only listen; anything they send is ignored."""
