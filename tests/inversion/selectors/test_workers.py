"""The dashboard's fleet: each worker and engine with its load, live or dead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inversion.models import Worker
from inversion.selectors.workers import workers_overview
from tests.factories import EpisodeFactory, GoldFactory

pytestmark = pytest.mark.django_db


def _worker(key: str, engine: str, **kw) -> Worker:
    return Worker.objects.create(key=key, hostname="h", pid=1, kind="celery", engine=f"unix:///{engine}.sock",
                                 engine_id=engine, heartbeat_at=kw.pop("beat", timezone.now()), **kw)


def test_each_engine_shows_its_workers_and_load(alice_client):
    _worker("h:1:1", "enga")
    _worker("h:2:1", "enga", dead_at=timezone.now())
    _worker("h:3:1", "engb", beat=timezone.now() - timedelta(minutes=3))
    gold = GoldFactory(engine="enga")
    EpisodeFactory(gold=gold, status="running", worker="h:1:1")
    EpisodeFactory(gold=gold, status="queued")
    fleet = workers_overview()
    assert [(w["key"], w["state"], w["episodes"]) for w in fleet["workers"]] == [
        ("h:1:1", "live", 1), ("h:2:1", "dead", 0), ("h:3:1", "silent", 0)]
    assert [(e["engine"], e["live_workers"], e["episodes"], e["queued"]) for e in fleet["engines"]] == [
        ("enga", 1, 1, 1), ("engb", 0, 0, 0)]
    page = alice_client.get(reverse("dashboard")).content.decode()
    assert 'id="engines"' in page and "enga" in page and "silent" in page
