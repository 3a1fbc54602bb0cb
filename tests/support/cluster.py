"""The scale mode for real, on one machine: a private PostgreSQL database, a Redis database, one
Celery worker process per Docker engine (`-P threads`, so `kill -9` ends the worker and every job
in it at once), and `manage.py` commands against the same settings. Used by the two-engine and
worker-kill tests and by bench/campaign.py; imports no Django (the processes do)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
ENGINE_SCRIPT = ROOT / "scripts" / "docker-engine-2"


def second_engine(n: int = 2) -> str:
    """Start (or find) engine N with scripts/docker-engine-2; returns its DOCKER_HOST."""
    out = subprocess.run([str(ENGINE_SCRIPT), str(n)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"engine {n} did not start: {out.stderr[-2000:]}")
    return out.stdout.strip().rpartition("DOCKER_HOST=")[2]


class Cluster:
    """`with Cluster(name) as c:` a fresh database and broker; `c.worker(docker_host)` starts a worker;
    `c.studio(...)` runs the CLI; `c.sql(...)` reads rows; everything stops and is dropped at exit."""

    def __init__(self, name: str, *, redis_db: int = 12, concurrency: int = 2, tick: int = 2,
                 keep_data: bool = False, redis_url: str = "") -> None:
        self.db = f"studio_{name}_{os.getpid()}"
        self.redis_url = redis_url or f"{REDIS}/{redis_db}"
        self.concurrency, self.tick, self.keep_data = concurrency, tick, keep_data
        self.data = tempfile.mkdtemp(prefix=f"studio-{name}-")
        self.workers: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def env(self, docker_host: str = "") -> dict:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings", "DATABASE_URL": f"{PG}/{self.db}",
               "REDIS_URL": self.redis_url, "STUDIO_DATA_DIR": self.data, "PYTHONPATH": str(ROOT),
               "STUDIO_INSTANCE": f"cluster-{os.getpid()}", "STUDIO_CAMPAIGN_TICK": str(self.tick),
               "STUDIO_CAMPAIGN_REDISPATCH": "60", "STUDIO_LOG_LEVEL": "WARNING"}
        env.pop("STUDIO_JOBS_EAGER", None)
        if docker_host:
            env["DOCKER_HOST"] = docker_host
        else:
            env.pop("DOCKER_HOST", None)
        return env

    def __enter__(self) -> Cluster:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}"')
            conn.execute(f'CREATE DATABASE "{self.db}"')
        redis.Redis.from_url(self.redis_url).flushdb()
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=self.env(),
                       check=True, timeout=300)
        return self

    def worker(self, name: str, docker_host: str = "") -> subprocess.Popen:
        """A Celery worker on one engine (it adds that engine's queues itself)."""
        log = Path(self.data) / f"worker-{name}.log"
        cmd = [sys.executable, "-m", "celery", "-A", "studio", "worker", "-P", "threads", "-c", str(self.concurrency),
               "-Q", "build,episode,validate", "-n", f"{name}@%h", "-l", "WARNING", "--without-mingle",
               "--without-gossip"]
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env(docker_host), stdout=out, stderr=subprocess.STDOUT)
        self.workers[name], self.logs[name] = proc, log
        return proc

    def wait_workers(self, engines: int, timeout: float = 120) -> list[dict]:
        """Until `engines` distinct engines have a live worker lease."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.sql("SELECT key, pid, engine_id FROM inversion_worker WHERE stopped_at IS NULL "
                            "AND dead_at IS NULL")
            if len({r["engine_id"] for r in rows}) >= engines:
                return rows
            for name, proc in self.workers.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"worker {name} exited: {self.logs[name].read_text()[-3000:]}")
            time.sleep(0.5)
        raise TimeoutError(f"fewer than {engines} engines have a live worker")

    def studio(self, *args: str, timeout: float = 1800) -> dict:
        """`manage.py studio --json ...` (no worker of its own: the scale mode's workers do the work)."""
        out = subprocess.run([sys.executable, "manage.py", "studio", "--json", *args], cwd=ROOT, env=self.env(),
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"studio {' '.join(args)} failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout)

    def sql(self, query: str, *params) -> list[dict]:
        with psycopg.connect(f"{PG}/{self.db}", autocommit=True) as conn:
            cur = conn.execute(query, params)
            names = [c.name for c in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def load(self) -> dict:
        """Database and broker work so far: transactions and rows written, Redis commands."""
        stats = self.sql("SELECT xact_commit, tup_inserted, tup_updated, tup_fetched FROM pg_stat_database "
                         "WHERE datname = %s", self.db)[0]
        info = redis.Redis.from_url(self.redis_url).info("stats")
        return {**{k: int(v) for k, v in stats.items()}, "redis_commands": int(info["total_commands_processed"])}

    def __exit__(self, *exc) -> None:
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        if not self.keep_data:
            shutil.rmtree(self.data, ignore_errors=True)


class PrivateRedis:
    """A Redis server of one test (append-only file, so a restart keeps what it had), which the test
    may stop and start again without touching the machine's shared Redis."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="studio-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                                      "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """A clean shutdown (the append-only file is complete); connected workers lose their connection."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
