"""The scale mode on two real Docker engines: PostgreSQL, Redis, a second dockerd started by
scripts/docker-engine-2, one Celery worker process per engine. A campaign's golds are built per
engine and its tasks come from both; a worker killed with SIGKILL mid-episode leaves a defined,
explained episode, every event written before the kill, no container on its engine, and the
campaign finishes on the other worker."""

from __future__ import annotations

import signal
import time

import pytest

from tests.campaigns.conftest import make_project
from tests.support.cluster import Cluster, second_engine

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.redis]
FIRST = "unix:///var/run/docker.sock"


@pytest.fixture(scope="module")
def engine_two(docker_client, base_image):
    return second_engine(2)


def _sources(tmp_path, names) -> str:
    listing = tmp_path / "sources.txt"
    listing.write_text("".join(f"path:{make_project(tmp_path, n)}\n" for n in names))
    return str(listing)


def _containers(host: str, instance: str) -> list:
    import docker

    client = docker.DockerClient(base_url=host, timeout=30)
    try:
        # the plain list: the full form inspects each container listed, and a sweep may remove one meanwhile
        return client.containers.list(all=True, sparse=True, filters={"label": [f"studio.instance={instance}"]})
    finally:
        client.close()


def test_a_campaign_on_two_engines_takes_tasks_from_both(engine_two, tmp_path):
    with Cluster("twoengines") as cluster:
        cluster.worker("one", FIRST)
        cluster.worker("two", engine_two)
        engines = {r["engine_id"] for r in cluster.wait_workers(2)}
        report = cluster.studio("campaign", "run", "--sources", _sources(tmp_path, ["twina", "twinb"]),
                                "--episodes-per-gold", "1", "--seed", "0", "--wait", "--timeout", "900")
        assert report["status"] == "finished", report
        assert [s["stage"] for s in report["sources"]] == ["done", "done"], report["sources"]
        assert {s["engine"] for s in report["sources"]} == engines  # one gold per engine, by load
        made = {e["engine"]: e["valid_tasks"] for e in report["engines"]}
        episodes = cluster.sql("SELECT id, status, reason, fault_family FROM inversion_episode ORDER BY id")
        assert set(made) == engines and all(made.values()), (report["engines"], episodes)
        # episodes and validation ran on the worker of the gold's engine
        rows = cluster.sql("SELECT g.engine, w.engine_id FROM inversion_episode e JOIN inversion_goldenvironment g "
                           "ON g.id = e.gold_id JOIN inversion_worker w ON w.key = e.worker")
        assert rows and all(r["engine"] == r["engine_id"] for r in rows)


def _kill_mid_episode(cluster: Cluster, timeout: float = 600) -> dict:
    """SIGKILL the worker running the first episode seen running; returns that episode and its events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = cluster.sql("SELECT e.id, e.worker, w.pid, w.engine FROM inversion_episode e JOIN inversion_worker w "
                              "ON w.key = e.worker WHERE e.status = 'running' ORDER BY e.id LIMIT 1")
        if running:
            victim = running[0]
            name = next(n for n, p in cluster.workers.items() if p.pid == victim["pid"])
            cluster.workers[name].send_signal(signal.SIGKILL)
            cluster.workers[name].wait()
            events = cluster.sql("SELECT seq, kind FROM inversion_episodeevent WHERE episode_id = %s ORDER BY seq",
                                 victim["id"])
            return {**victim, "name": name, "events": [(e["seq"], e["kind"]) for e in events]}
        time.sleep(0.1)
    raise TimeoutError("no episode ran")


def test_a_worker_killed_mid_episode_the_campaign_finishes_on_the_other(engine_two, tmp_path):
    with Cluster("workerkill") as cluster:
        cluster.worker("one", FIRST)
        cluster.worker("two", engine_two)
        cluster.wait_workers(2)
        started = cluster.studio("campaign", "run", "--sources", _sources(tmp_path, ["killa", "killb"]),
                                 "--episodes-per-gold", "1", "--seed", "0")
        victim = _kill_mid_episode(cluster)
        report = cluster.studio("campaign", "status", str(started["id"]))
        deadline = time.monotonic() + 900
        while report["status"] == "running" and time.monotonic() < deadline:
            time.sleep(2)
            report = cluster.studio("campaign", "status", str(started["id"]))
        assert report["status"] == "finished", report
        assert all(s["stage"] == "done" for s in report["sources"]), report["sources"]
        episode = cluster.sql("SELECT status, reason FROM inversion_episode WHERE id = %s", victim["id"])[0]
        events = cluster.sql("SELECT seq, kind, payload FROM inversion_episodeevent WHERE episode_id = %s ORDER BY seq",
                             victim["id"])
        assert [(e["seq"], e["kind"]) for e in events][: len(victim["events"])] == victim["events"]  # nothing lost
        messages = [e["payload"].get("message", "") for e in events if e["kind"] == "status"]
        lost = next(i for i, e in enumerate(events)
                    if e["kind"] == "status" and "worker lost" in e["payload"].get("message", ""))
        # what the dead worker had written decides the outcome: a change -> interrupted, none -> again
        mutated = any(e["kind"] == "setenv" or (e["kind"] == "command" and e["payload"].get("mutated"))
                      for e in events[:lost])
        if mutated:
            assert episode["status"] == "error", episode
            assert episode["reason"].startswith(f"interrupted: worker lost ({victim['worker']})")
            assert episode["reason"] in messages
        else:  # queued again and run to its end (here or moved to the other engine)
            assert "before it changed anything: queued again" in events[lost]["payload"]["message"], messages
            moved = episode["status"] == "cancelled" and episode["reason"].startswith("moved:")  # its engine went
            assert episode["status"] in ("succeeded", "no_task") or moved, episode
        assert report["totals"]["valid_tasks"] >= 1
        instance = cluster.env()["STUDIO_INSTANCE"]
        assert _containers(victim["engine"], instance) == []  # swept on the dead worker's engine
        dead = cluster.sql("SELECT dead_at FROM inversion_worker WHERE key = %s", victim["worker"])[0]
        assert dead["dead_at"] is not None


def _stop_engine_two() -> None:
    import subprocess

    from tests.support.cluster import ENGINE_SCRIPT

    subprocess.run([str(ENGINE_SCRIPT), "stop", "2"], check=True, timeout=120)


def test_an_engine_restarted_mid_batch_fails_running_episodes_cleanly_and_the_rest_wait(engine_two, tmp_path):
    """Last in the module: it stops engine two and starts it again."""
    with Cluster("enginerestart", concurrency=1) as cluster:
        cluster.worker("two", engine_two)
        cluster.wait_workers(1)
        started = cluster.studio("campaign", "run", "--sources", _sources(tmp_path, ["bouncea"]),
                                 "--episodes-per-gold", "2", "--seed", "0")
        deadline = time.monotonic() + 600
        while not cluster.sql("SELECT id FROM inversion_episode WHERE status = 'running'"):
            assert time.monotonic() < deadline, "no episode ran"
            time.sleep(0.2)
        _stop_engine_two()
        stopped_at = time.monotonic()
        while cluster.sql("SELECT id FROM inversion_episode WHERE status = 'running'"):
            assert time.monotonic() - stopped_at < 120, "a running episode did not end when its engine went away"
            time.sleep(0.5)
        time.sleep(15)  # the queued ones wait for the engine (their jobs are retried, not claimed)
        rows = cluster.sql("SELECT id, status, reason FROM inversion_episode ORDER BY id")
        failed = [r for r in rows if r["status"] not in ("queued", "validating")]
        assert failed and all(r["status"] == "error" and r["reason"] for r in failed), rows
        waiting = [r["id"] for r in rows if r["status"] == "queued"]
        assert waiting, rows
        second_engine(2)  # the engine comes back
        report = cluster.studio("campaign", "status", str(started["id"]))
        while report["status"] == "running" and time.monotonic() - stopped_at < 600:
            time.sleep(2)
            report = cluster.studio("campaign", "status", str(started["id"]))
        assert report["status"] == "finished", report
        after = {r["id"]: r for r in cluster.sql("SELECT id, status, reason FROM inversion_episode")}
        assert all(after[i]["status"] in ("succeeded", "no_task") for i in waiting), after  # ran once it was back
        assert any(f["reason"].startswith("episode error:") for f in report["failures"]), report["failures"]
        instance = cluster.env()["STUDIO_INSTANCE"]
        deadline = time.monotonic() + 90
        while _containers(engine_two, instance) and time.monotonic() < deadline:  # the next sweep removes them
            time.sleep(2)
        assert _containers(engine_two, instance) == []


def test_redis_restarted_mid_campaign_workers_reconnect_and_no_episode_runs_twice(docker_client, base_image, tmp_path):
    """A private Redis (append-only), stopped while an episode runs and started again 10 s later."""
    from tests.support.cluster import PrivateRedis

    with PrivateRedis() as broker, Cluster("redisrestart", redis_url=broker.url) as cluster:
        cluster.worker("one", FIRST)
        cluster.wait_workers(1)
        started = cluster.studio("campaign", "run", "--sources", _sources(tmp_path, ["brokera"]),
                                 "--episodes-per-gold", "3", "--seed", "0")
        deadline = time.monotonic() + 600
        while not cluster.sql("SELECT id FROM inversion_episode WHERE status = 'running'"):
            assert time.monotonic() < deadline, "no episode ran"
            time.sleep(0.2)
        broker.stop()
        time.sleep(10)
        broker.start()
        report = cluster.studio("campaign", "status", str(started["id"]))
        while report["status"] == "running" and time.monotonic() < deadline:
            time.sleep(2)
            report = cluster.studio("campaign", "status", str(started["id"]))
        assert report["status"] == "finished" and report["sources"][0]["stage"] == "done", report
        assert cluster.workers["one"].poll() is None  # the worker reconnected rather than died
        rows = cluster.sql("SELECT e.id, e.status, COUNT(v.id) AS starts FROM inversion_episode e LEFT JOIN "
                           "inversion_episodeevent v ON v.episode_id = e.id AND v.kind = 'status' AND "
                           "v.payload->>'message' LIKE 'container %%' GROUP BY e.id, e.status ORDER BY e.id")
        assert len(rows) == 3 and all(r["status"] in ("succeeded", "no_task") for r in rows), rows  # none lost
        assert all(r["starts"] == 1 for r in rows), rows  # none ran twice
