"""Event latency: event row written -> websocket frame received, p50/p95 for 1 and 20 viewers.

    .venv/bin/python bench/latency.py [--events 100] [--viewers 1 20] [--modes embedded redis]

Each mode runs in a child process with its own settings (a temp data dir and SQLite file):
- embedded: uvicorn runs in a thread of the child and the writer is another thread of the same
  process, exactly like the embedded worker (in-memory channel layer).
- redis: uvicorn runs as a separate process with REDIS_URL; the writer is the child, like a
  separate Celery worker (channels_redis layer over 127.0.0.1:6379).
The writer calls the real `episode_event_add` service; the clock starts just before the call
(so the time includes the INSERT) and stops when each viewer receives the frame with that seq.

--fork-bomb: while the events run, a real episode sandbox (the studio's Sandbox, its limits, from
the base image) runs a fork bomb, and a probe fetches the episode page every 100 ms as a logged-in
user; page p50/p95 are printed beside the event latencies (goal: both p95 < 500 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEQ = re.compile(rb'data-seq="(\d+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _prepare() -> tuple[int, str]:
    """Migrate the private DB; return an episode id and a session cookie of a logged-in user."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from inversion.models import Episode, GoldEnvironment, Repository

    user = get_user_model().objects.create_user("bench", password="x")
    repo = Repository.objects.create(name="bench", kind="pypi", spec="pypi:bench==1", location="bench")
    gold = GoldEnvironment.objects.create(repository=repo, status="ready")
    episode = Episode.objects.create(gold=gold, status="running")
    client = Client()
    client.force_login(user)
    return episode.pk, f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def _viewer(url: str, cookie: str, origin: str, received: dict[int, float], ready: asyncio.Event,
                  done: asyncio.Event) -> None:
    import websockets

    async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": origin}) as ws:
        ready.set()
        while not done.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.perf_counter()
            data = frame.encode() if isinstance(frame, str) else frame
            match = SEQ.search(data)
            if match:
                received.setdefault(int(match.group(1)), now)


async def _measure(port: int, episode_id: int, cookie: str, viewers: int, events: int, gap: float,
                   first_seq: int) -> list[float]:
    from inversion.services.events import episode_event_add

    url = f"ws://127.0.0.1:{port}/ws/episodes/{episode_id}/?after={first_seq - 1}"
    received = [dict() for _ in range(viewers)]
    readies = [asyncio.Event() for _ in range(viewers)]
    done = asyncio.Event()
    tasks = [asyncio.create_task(_viewer(url, cookie, f"http://127.0.0.1:{port}", received[i], readies[i], done))
             for i in range(viewers)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=30)
    await asyncio.sleep(0.3)
    sent: dict[int, float] = {}
    loop = asyncio.get_running_loop()

    def write(seq: int) -> None:
        sent[seq] = time.perf_counter()
        event = episode_event_add(episode_id=episode_id, kind="command", payload={
            "command": f"echo {seq}", "output": "x" * 200, "exit_code": 0})
        assert event.seq == seq, (event.seq, seq)

    for i in range(events):
        await loop.run_in_executor(None, write, first_seq + i)
        await asyncio.sleep(gap)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(len(r) < events for r in received):
        await asyncio.sleep(0.05)
    done.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies, missing = [], 0
    for r in received:
        for seq, t0 in sent.items():
            if seq in r:
                latencies.append((r[seq] - t0) * 1000)
            else:
                missing += 1
    if missing:
        print(f"  !! {missing} frames never arrived", file=sys.stderr)
    return latencies


class _ForkBomb:
    """A fork bomb in a real episode sandbox: bounded by the sandbox's pids, CPU and weight limits."""

    def __enter__(self) -> _ForkBomb:
        from django.conf import settings

        from inversion.engine.runtime.sandbox import Sandbox
        from studio.lib.dockerctx import docker_client

        self.client = docker_client()
        self.box = Sandbox(self.client, settings.STUDIO_BASE_IMAGE, kind="episode", owner="bench:latency",
                           instance=settings.STUDIO_INSTANCE)
        self.box.start()
        self.box.container.exec_run(["bash", "-c", "b(){ b|b & }; b"], detach=True)
        time.sleep(3)  # let it reach the pids limit
        top = self.box.container.stats(stream=False).get("pids_stats", {})
        print(f"  fork bomb running: {top.get('current')} pids (limit {top.get('limit')})", file=sys.stderr)
        return self

    def __exit__(self, *exc) -> None:
        self.box.remove()
        self.client.close()


class _PageProbe(threading.Thread):
    """GET a page every 100 ms with the session cookie; keeps the latencies in ms."""

    def __init__(self, url: str, cookie: str) -> None:
        super().__init__(daemon=True)
        self.url, self.cookie, self.times, self.stop = url, cookie, [], threading.Event()

    def run(self) -> None:
        import urllib.request

        while not self.stop.is_set():
            started = time.perf_counter()
            request = urllib.request.Request(self.url, headers={"Cookie": self.cookie})
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                assert response.status == 200
            self.times.append((time.perf_counter() - started) * 1000)
            self.stop.wait(0.1)


def child(mode: str, viewer_counts: list[int], events: int, gap: float, bomb: bool = False) -> None:
    episode_id, cookie = _prepare()
    port = _free_port()
    server_proc = None
    if mode == "embedded":
        import uvicorn

        from studio.asgi import application

        server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off",
                                              log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
    else:
        server_proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "studio.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--lifespan", "off", "--log-level", "warning"], cwd=ROOT, env=os.environ.copy())
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    try:
        results = {}
        next_seq = 1
        with contextlib.ExitStack() as stack:
            if bomb:
                stack.enter_context(_ForkBomb())
            for n in viewer_counts:
                probe = _PageProbe(f"http://127.0.0.1:{port}/episodes/{episode_id}/", cookie)
                probe.start()
                lat = asyncio.run(_measure(port, episode_id, cookie, n, events, gap, next_seq))
                probe.stop.set()
                probe.join()
                next_seq += events
                results[n] = {"p50": round(statistics.median(lat), 1), "p95": round(_pct(lat, 0.95), 1),
                              "max": round(max(lat), 1), "frames": len(lat),
                              "page_p50": round(statistics.median(probe.times), 1),
                              "page_p95": round(_pct(probe.times, 0.95), 1), "pages": len(probe.times)}
        print(json.dumps(results))
    finally:
        if server_proc:
            server_proc.terminate()
            server_proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between events")
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--modes", nargs="+", default=["embedded", "redis"], choices=["embedded", "redis"])
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--fork-bomb", action="store_true", help="a fork-bomb episode sandbox runs meanwhile")
    parser.add_argument("--child", choices=["embedded", "redis"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.viewers, args.events, args.gap, args.fork_bomb)
        return
    print(f"event latency, {args.events} events per run, {args.gap * 1000:.0f} ms apart (ms: p50 / p95 / max)"
          + ("; a fork bomb runs in an episode sandbox meanwhile (goal: event and page p95 < 500 ms)"
             if args.fork_bomb else ""))
    for mode in args.modes:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings",
               "STUDIO_DATA_DIR": tempfile.mkdtemp(prefix=f"studio-bench-{mode}-"), "STUDIO_EMBEDDED_WORKER": "0",
               "STUDIO_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        env.pop("REDIS_URL", None)
        if mode == "redis":
            env["REDIS_URL"] = args.redis_url
        cmd = [sys.executable, __file__, "--child", mode, "--events", str(args.events), "--gap", str(args.gap),
               "--viewers", *map(str, args.viewers), *(["--fork-bomb"] if args.fork_bomb else [])]
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(f"{mode}: failed\n{out.stderr[-3000:]}")
            continue
        for line in out.stderr.splitlines():
            if line.startswith("  fork bomb"):
                print(line.strip())
        results = json.loads(out.stdout.strip().splitlines()[-1])
        for n, r in results.items():
            verdict = "" if int(n) < 20 else ("  (goal p95 < 100 ms: met)" if r["p95"] < 100 else "  (goal p95 < 100 ms: MISSED)")
            if args.fork_bomb:
                met = "met" if max(r["p95"], r["page_p95"]) < 500 else "MISSED"
                verdict = f"  (fork bomb goal p95 < 500 ms: {met})"
            print(f"{mode:9s} {int(n):3d} viewers: {r['p50']:7.1f} / {r['p95']:7.1f} / {r['max']:7.1f}"
                  f"  over {r['frames']} frames; page {r['page_p50']:.1f} / {r['page_p95']:.1f} over "
                  f"{r['pages']} GETs{verdict}")


if __name__ == "__main__":
    main()
