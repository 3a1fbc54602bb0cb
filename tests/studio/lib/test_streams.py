"""The seq-stream protocol: snapshot after `?after=`, live relay, no duplicates, both layers."""

import json

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from inversion.models import EpisodeEvent
from studio.asgi import application
from studio.lib.broadcast import broadcast, stream_group
from tests.factories import EpisodeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def _add_event(episode, seq, text):
    EpisodeEvent.objects.create(episode=episode, seq=seq, kind="command", payload={"command": text, "output": text})


async def _frames(comm, n, timeout=3):
    return [await comm.receive_from(timeout=timeout) for _ in range(n)]


async def test_snapshot_then_live_without_duplicates(alice):
    episode = await sync_to_async(EpisodeFactory)()
    for seq in (1, 2, 3):
        await sync_to_async(_add_event)(episode, seq, f"step-{seq}")
    headers = await sync_to_async(_cookie_headers)(alice)
    comm = WebsocketCommunicator(application, f"/ws/episodes/{episode.pk}/?after=1", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    frames = await _frames(comm, 2)
    assert 'id="ev-2"' in frames[0] and 'id="ev-3"' in frames[1]

    await sync_to_async(_add_event)(episode, 4, "step-4")
    await sync_to_async(broadcast)(stream_group("episodes", episode.pk), {"seq": 4})
    await sync_to_async(broadcast)(stream_group("episodes", episode.pk), {"seq": 4})  # duplicate delivery
    (frame,) = await _frames(comm, 1)
    assert 'id="ev-4"' in frame
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_output_is_escaped(alice):
    episode = await sync_to_async(EpisodeFactory)()
    await sync_to_async(_add_event)(episode, 1, "<script>alert(1)</script><img src=x onerror=alert(2)>")
    headers = await sync_to_async(_cookie_headers)(alice)
    comm = WebsocketCommunicator(application, f"/ws/episodes/{episode.pk}/", headers=headers)
    assert (await comm.connect())[0]
    (frame,) = await _frames(comm, 1)
    assert "<script>" not in frame and "<img" not in frame
    assert "&lt;script&gt;" in frame
    await comm.disconnect()


async def test_unknown_episode_is_closed(alice):
    headers = await sync_to_async(_cookie_headers)(alice)
    comm = WebsocketCommunicator(application, "/ws/episodes/999999/", headers=headers)
    connected, code = await comm.connect()
    assert not connected and code == 4404


def test_layer_in_use_matches_mode():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    expected = "ThreadSafeInMemoryChannelLayer" if settings.EMBEDDED else "RedisChannelLayer"
    assert type(layer).__name__ == expected, json.dumps(settings.CHANNEL_LAYERS)
