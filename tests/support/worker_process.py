"""A real worker process for tests that kill one: a child Python that runs one episode against the
test database (SQLite file or PostgreSQL), with test agents registered."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from django.db import connection

from tests.support.paths import ROOT

AGENTS = {"stuck": "tests.support.fixture_gold.StuckAgent", "idle": "tests.support.fixture_gold.IdleAgent"}
CODE = """
import django, sys
django.setup()
from inversion.engine.episode import agents
agents.AGENT_KINDS.update({agents})
from inversion.models import Episode
from inversion.services.episodes import episode_run
episode_run(episode=Episode.objects.get(pk=int(sys.argv[1])), handoff=False)
"""


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_episode_process(episode_id: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": _database_url(),
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", CODE.replace("{agents}", repr(AGENTS)), str(episode_id)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float = 60, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
