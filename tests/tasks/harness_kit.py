"""Hand-made gold-like projects with a known fault and repair, validated by hand, and the harness runs.

Each project is a tiny source tree (an sdist stand-in) built into a gold image the way the studio
lays golds out (/testbed, /opt/venv, pytest baked in); the fault is a delta of RUN lines.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker

from inversion.engine.labels import labels
from tests.support.images import PYTEST_DOCKERFILE

ROOT = Path(__file__).resolve().parents[2]
HARBOR = ROOT / ".harness-venv" / "harbor" / "bin" / "harbor"
TB = ROOT / ".harness-venv" / "tb" / "bin" / "tb"


def gold_dockerfile(base: str) -> str:
    """The cached pytest image's lines (its pip layer needs no network again) + the source."""
    return PYTEST_DOCKERFILE.format(base=base) + "COPY . /testbed/\n"

# This engine has no default bridge network: BuildKit (compose's default builder) fails every RUN
# with "network bridge not found"; the classic builder runs them (and shares the gold's layer cache).
HARNESS_ENV = {**os.environ, "DOCKER_BUILDKIT": "0"}


@dataclass
class Project:
    name: str
    files: dict[str, str]
    delta: str
    repair: str
    f2p: list[str]
    p2p: list[str]
    instruction: str


PROJECTS = [
    Project(
        name="tinycalc",
        files={
            "tinycalc.py": "def add(a, b):\n    return a + b\n\n"
                           "def average(xs):\n    import statistics\n\n    return statistics.mean(xs)\n",
            "tests/test_calc.py": "from tinycalc import add, average\n\ndef test_add():\n    assert add(2, 3) == 5\n\n"
                                  "def test_average():\n    assert average([1, 2, 3]) == 2\n\n"
                                  "def test_average_one():\n    assert average([4]) == 4\n",
        },
        # A .pth line runs at every interpreter start: the stdlib module becomes unimportable.
        delta="echo 'import sys; sys.modules[\"statistics\"] = None' > /opt/venv/lib/python3.11/site-packages/zz_env.pth",
        repair="rm -f /opt/venv/lib/python3.11/site-packages/zz_env.pth",
        f2p=["tests/test_calc.py::test_average", "tests/test_calc.py::test_average_one"],
        p2p=["tests/test_calc.py::test_add"],
        instruction="Averages in `tinycalc` fail: `import statistics` raises ModuleNotFoundError in this "
                    "environment. Make the test suite in /testbed pass again.",
    ),
    Project(
        name="tinytext",
        files={
            "tinytext.py": "def hue(r, g, b):\n    import colorsys\n\n    return round(colorsys.rgb_to_hsv(r, g, b)[0], 3)\n\n"
                           "def shout(s):\n    return s.upper()\n",
            "tests/test_text.py": "from tinytext import hue, shout\n\ndef test_hue():\n    assert hue(0, 1, 0) == 0.333\n\n"
                                  "def test_shout():\n    assert shout('hi') == 'HI'\n",
        },
        # A module in the project directory shadows the standard library one.
        delta="printf 'raise ImportError(\"colorsys is unavailable\")\\n' > /testbed/colorsys.py",
        repair="rm -f /testbed/colorsys.py",
        f2p=["tests/test_text.py::test_hue"],
        p2p=["tests/test_text.py::test_shout"],
        instruction="Colour conversion with `tinytext.hue` fails with `ImportError: colorsys is unavailable`; "
                    "repair the environment so the tests in /testbed pass.",
    ),
]


def write_snapshot(project: Project, root: Path) -> Path:
    snapshot = root / project.name
    for name, body in project.files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_text(body)
    return snapshot


def build(client: docker.DockerClient, context: Path | None, dockerfile: str, tag: str) -> str:
    """Builds with host networking (pip inside); the layers stay cached for the harness rebuilds."""
    if context is None:
        image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True,
                                       network_mode="host", labels=labels("test-image", "harness"))
    else:
        (context / "Dockerfile.studio").write_text(dockerfile)
        image, _ = client.images.build(path=str(context), dockerfile="Dockerfile.studio", tag=tag, rm=True,
                                       network_mode="host", labels=labels("test-image", "harness"))
        (context / "Dockerfile.studio").unlink()
    return image.id


def pytest_outcomes(client: docker.DockerClient, image: str, ids: list[str], prepare: str = "") -> int:
    """Exit code of the graded tests in a fresh container of `image` (after `prepare`)."""
    script = (prepare + "\n" if prepare else "") + "cd /testbed && python -m pytest -q -p no:cacheprovider " + " ".join(ids)
    container = client.containers.run(image, ["bash", "-c", script], detach=True, network_mode="none")
    try:
        return container.wait(timeout=300)["StatusCode"]
    finally:
        container.remove(force=True)


def run_harbor(path: Path, agent: str, jobs: Path) -> tuple[list[dict], float]:
    """One job over a task or dataset directory (2 trials at a time); rows from each result.json."""
    name = f"{agent}-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    proc = subprocess.run([str(HARBOR), "run", "--path", str(path), "--agent", agent, "--jobs-dir", str(jobs),
                           "--job-name", name, "--n-concurrent", "2", "-y", "-q"], capture_output=True, text=True, timeout=1800, env=HARNESS_ENV)
    seconds = time.monotonic() - started
    rows = []
    for f in sorted((jobs / name).glob("*/result.json")):
        r = json.loads(f.read_text())
        rewards = (r.get("verifier_result") or {}).get("rewards") or {}
        exc = r.get("exception_info")
        rows.append({"task": r["task_name"], "reward": rewards.get("reward"), "exception": exc and exc["exception_type"]})
    assert rows, f"harbor wrote no trial results: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    return rows, seconds


def run_tb(dataset: Path, agent: str, runs: Path, task_ids: list[str]) -> tuple[list[dict], float]:
    run_id = f"{agent}-{uuid.uuid4().hex[:8]}"
    cmd = [str(TB), "run", "--agent", agent, "--dataset-path", str(dataset), "--output-path", str(runs),
           "--run-id", run_id, "--n-concurrent", "2"]
    for task_id in task_ids:
        cmd += ["--task-id", task_id]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=HARNESS_ENV)
    seconds = time.monotonic() - started
    results = runs / run_id / "results.json"
    assert results.exists(), f"tb wrote no results.json: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    rows = [{"task": r["task_id"], "resolved": r["is_resolved"], "failure_mode": r["failure_mode"],
             "tests": r.get("parser_results")} for r in json.loads(results.read_text())["results"]]
    return rows, seconds
