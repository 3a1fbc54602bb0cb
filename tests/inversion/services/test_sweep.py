"""Processes that die: a worker killed with SIGKILL mid-episode leaves its episode in a defined state
with every event kept, and its container is swept; a live worker's container is never touched, by
another worker's sweep or a new studio's start-up. Real processes, the real engine, the real DB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from inversion.engine.runtime import labels as lbl
from inversion.models import Episode
from inversion.services.sweep import sweep_dead_containers, sweep_dead_rows
from tests.factories import EpisodeFactory, GoldFactory
from tests.support.fixture_gold import ensure_gold_image, measure_baseline
from tests.support.paths import ROOT
from tests.support.worker_process import start_episode_process, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gold(docker_client, base_image):
    image, dockerfile = ensure_gold_image(docker_client, base_image)
    return GoldFactory(image=image, dockerfile=dockerfile, baseline=measure_baseline(docker_client, image, runs=1))


def _containers(docker_client, episode):
    """The episode's containers, from the plain list: docker-py's full form inspects each one it
    listed, and a short-lived test-run container removed in between raised NotFound (fresh-clone
    `make test` under load, stop 41), as the sweep itself knows (`sweep_dead_containers`)."""
    own = [f"{lbl.OWNER}=episode:{episode.pk}", f"{lbl.INSTANCE}={settings.STUDIO_INSTANCE}"]
    return docker_client.containers.list(all=True, sparse=True, filters={"label": own})


@pytest.fixture(autouse=True)
def children():
    """Child workers this test started; whatever happens, none outlives it."""
    started: list = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _gone(docker_client, episode) -> None:
    """Swept: gone, or going (another process's sweep may be removing it at this moment)."""
    wait_for(lambda: not _containers(docker_client, episode), timeout=15, what="the dead worker's container to go")


def _running_episode(docker_client, gold, agent, children):
    episode = EpisodeFactory(gold=gold, agent=agent, status="queued", config={"budget": {"command_timeout": 900}})
    proc = start_episode_process(episode.pk)
    children.append(proc)
    wait_for(lambda: Episode.objects.get(pk=episode.pk).status == "running" and _containers(docker_client, episode),
             what="the child's episode to run")
    return episode, proc


def test_a_worker_killed_mid_episode_ends_it_keeps_its_events_and_loses_its_container(docker_client, gold, children):
    episode, proc = _running_episode(docker_client, gold, "stuck", children)
    wait_for(lambda: episode.events.filter(kind="command", payload__mutated=True).exists(), what="the first change")
    sweep_dead_rows()
    sweep_dead_containers()
    assert _containers(docker_client, episode)  # its worker is alive: untouched
    before = list(episode.events.values_list("seq", "kind"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sweep_dead_rows()["episodes"] == 1
    episode.refresh_from_db()
    assert episode.status == "error" and episode.reason.startswith("interrupted: worker lost (")
    assert list(episode.events.values_list("seq", "kind"))[: len(before)] == before  # nothing written is lost
    assert episode.events.last().payload["message"] == episode.reason
    sweep_dead_containers()
    _gone(docker_client, episode)


def test_a_worker_killed_before_any_change_has_its_episode_queued_again(docker_client, gold, children):
    episode, proc = _running_episode(docker_client, gold, "idle", children)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sweep_dead_rows()["requeued"] == 1
    episode.refresh_from_db()
    assert (episode.status, episode.worker, episode.started_at) == ("queued", "", None)
    assert "before it changed anything: queued again" in episode.events.last().payload["message"]
    sweep_dead_containers()
    _gone(docker_client, episode)


def test_a_starting_studio_sweeps_dead_workers_but_never_a_live_one(docker_client, gold, children):
    """Before: every studio process sharing an instance name removed every container at start."""
    live, live_proc = _running_episode(docker_client, gold, "idle", children)
    dead, dead_proc = _running_episode(docker_client, gold, "idle", children)
    dead_proc.send_signal(signal.SIGKILL)
    dead_proc.wait()
    code = "import django; django.setup()\nfrom studio.embedded import start_embedded_worker\nstart_embedded_worker()"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT),
           "DATABASE_URL": __import__("tests.support.worker_process", fromlist=["x"])._database_url()}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)
    _gone(docker_client, dead)
    assert any("before it changed anything: queued again" in e.payload.get("message", "")
               for e in dead.events.filter(kind="status"))
    assert _containers(docker_client, live) and Episode.objects.get(pk=live.pk).status == "running"
    live_proc.send_signal(signal.SIGKILL)
    live_proc.wait()
    sweep_dead_rows()
    sweep_dead_containers()
