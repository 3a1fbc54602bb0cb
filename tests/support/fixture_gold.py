"""A tiny gold environment for episode and materialize tests, and a scripted agent.

The project `tinyproj` lives in /testbed and imports `tinydep`, a one-file module installed in
the venv's site-packages: corrupting that module breaks exactly the tests that use it, which
is the smallest honest "environment" fault (the project source is never touched).
"""

from __future__ import annotations

import textwrap

import docker

from inversion.engine.episode.actions import Finish, RunCommand, SetEnv
from inversion.engine.episode.agents.base import Agent, Decision
from inversion.engine.gold.baseline import summarize_runs
from inversion.engine.runtime import testrun
from inversion.engine.runtime.sandbox import Sandbox
from tests.support.images import ensure_image, ensure_pytest_image

GOLD_IMAGE = "studio-test/tinygold:3"
SITE = "/opt/venv/lib/python3.11/site-packages"
DEP = f"{SITE}/tinydep.py"
DEP_SOURCE = "def double(x):\n    return 2 * x\n"
FILES = {
    "tinydep.py": DEP_SOURCE,
    "testbed/tinyproj/__init__.py": "import json\n\ndef dump(x):\n    return json.dumps(x, sort_keys=True)\n",
    "testbed/tests/test_core.py": textwrap.dedent("""
        import tinyproj
        def test_dump():
            assert tinyproj.dump({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
        def test_math():
            assert sum(range(5)) == 10
        def test_text():
            assert "abc".upper() == "ABC"
    """),
    "testbed/tests/test_dep.py": textwrap.dedent("""
        import tinydep
        def test_double():
            assert tinydep.double(2) == 4
        def test_double_neg():
            assert tinydep.double(-3) == -6
    """),
}
DOCKERFILE = """FROM {base}
COPY tinydep.py {dep}
COPY testbed /testbed
WORKDIR /testbed
"""
BREAK = f"printf 'raise ImportError(\"tinydep is corrupted\")\\n' > {DEP}"
REPAIR = f"printf '{DEP_SOURCE.replace(chr(10), chr(92) + 'n')}' > {DEP}"


def ensure_gold_image(client: docker.DockerClient, base: str) -> tuple[str, str]:
    """(image tag, the Dockerfile text recorded as the gold's Dockerfile)."""
    dockerfile = DOCKERFILE.format(base=ensure_pytest_image(client, base), dep=DEP)
    return ensure_image(client, GOLD_IMAGE, {**FILES, "Dockerfile": dockerfile}, owner="tinygold"), dockerfile


def measure_baseline(client: docker.DockerClient, image: str, runs: int = 2) -> dict:
    """The gold baseline as production summarises it (`summarize_runs`), from `runs` real runs."""
    results = []
    for _ in range(runs):
        out = testrun.OutDir()
        with Sandbox(client, image, kind="test", instance="pytest", mounts=testrun.mounts(out)) as box:
            results.append(testrun.run_tests(box, out))
        out.cleanup()
    return summarize_runs(results)


class ScriptedAgent(Agent):
    """Plays a fixed list of actions (default: explore, set an env var, break tinydep, finish)."""

    kind = "scripted"

    def __init__(self, actions: list | None = None, **_) -> None:
        self.actions = list(actions if actions is not None else [
            RunCommand("ls /testbed && cat " + DEP),
            SetEnv("TINY_FLAG", "on"),
            RunCommand(BREAK),
            Finish("python_dependency", "corrupted tinydep", REPAIR),
        ])
        self.seen: list = []

    def next_action(self, last):
        self.seen.append(last)
        if not self.actions:
            return Decision(None, error="script exhausted")
        step = self.actions.pop(0)
        if isinstance(step, Decision):
            return step
        return Decision(step, thought=f"scripted: {type(step).__name__}", prompt_tokens=3, completion_tokens=2)


SURFACE = {
    "python": {"executable": "/opt/venv/bin/python", "version": "3.11.2", "prefix": "/opt/venv",
               "base_prefix": "/usr", "site_packages": SITE},
    "modules": {"stdlib": ["json", "os", "sys"],
                "site": [{"name": "tinydep", "file": DEP, "dist": "", "version": ""},
                         {"name": "pytest", "file": f"{SITE}/pytest/__init__.py", "dist": "pytest", "version": "8.3.5"}],
                "project": [{"name": "tinyproj", "file": "/testbed/tinyproj/__init__.py"}]},
    "shared_libs": [], "executables": [],
    "packages": [{"name": "pytest", "version": "8.3.5"}],
    "per_file": {"tests/test_core.py": {"modules": ["tinyproj", "json"], "shared_libs": []},
                 "tests/test_dep.py": {"modules": ["tinydep"], "shared_libs": []}},
    "test_files": ["tests/test_core.py", "tests/test_dep.py"],
}


class StuckAgent(ScriptedAgent):
    """Changes a file, then runs a command that outlives any test (a worker killed mid-episode)."""

    def __init__(self, **_) -> None:
        super().__init__([RunCommand("echo seen > /tmp/changed-by-agent"), RunCommand("sleep 600")])


class IdleAgent(ScriptedAgent):
    """Only runs a command that outlives any test: killed, it had changed nothing."""

    def __init__(self, **_) -> None:
        super().__init__([RunCommand("sleep 600")])
