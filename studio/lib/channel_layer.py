"""An in-memory channel layer that may be fed from other threads.

Channels' InMemoryChannelLayer keeps asyncio queues that belong to the server's event loop.
In the embedded mode the Celery worker runs in a thread with its own loop (via
async_to_sync); putting into those queues from there wakes futures of another loop, which
is not thread-safe and can delay delivery indefinitely. This layer remembers the loop that
receives and hops every send onto it.
"""

from __future__ import annotations

import asyncio
import threading

from channels.layers import InMemoryChannelLayer


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._home_loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _remember_loop(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._home_loop is None or self._home_loop.is_closed():
                self._home_loop = loop

    async def _on_home(self, coro_factory):
        home = self._home_loop
        current = asyncio.get_running_loop()
        if home is None or home is current or home.is_closed() or not home.is_running():
            return await coro_factory()
        future = asyncio.run_coroutine_threadsafe(coro_factory(), home)
        return await asyncio.wrap_future(future)

    async def receive(self, channel):
        self._remember_loop()
        return await super().receive(channel)

    async def group_add(self, group, channel):
        self._remember_loop()
        return await super().group_add(group, channel)

    async def send(self, channel, message):
        return await self._on_home(lambda: InMemoryChannelLayer.send(self, channel, message))

    async def group_send(self, group, message):
        return await self._on_home(lambda: InMemoryChannelLayer.group_send(self, group, message))
