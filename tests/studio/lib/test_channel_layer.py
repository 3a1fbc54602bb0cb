"""Both channel layers deliver group messages: in-memory from a foreign thread, Redis for real."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync

from studio.lib.channel_layer import ThreadSafeInMemoryChannelLayer


async def test_in_memory_layer_delivers_from_another_thread_promptly():
    layer = ThreadSafeInMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    receiving = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.05)  # receive() is parked on this loop before the other thread sends

    def send_from_worker_thread():
        async_to_sync(layer.group_send)("g", {"type": "studio.event", "seq": 7})

    thread = threading.Thread(target=send_from_worker_thread)
    thread.start()
    message = await asyncio.wait_for(receiving, timeout=1.0)
    await asyncio.get_running_loop().run_in_executor(None, thread.join)
    assert message["seq"] == 7


@pytest.mark.redis
async def test_redis_layer_round_trip():
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=["redis://127.0.0.1:6379/15"], prefix="studio-test")
    channel = await layer.new_channel()
    await layer.group_add("g-redis", channel)
    await layer.group_send("g-redis", {"type": "studio.event", "seq": 3})
    message = await asyncio.wait_for(layer.receive(channel), timeout=3)
    assert message["seq"] == 3
    await layer.group_discard("g-redis", channel)
    await layer.flush()
