"""Hand-made gold-like projects with a known fault and repair, validated by hand, and the harness runs.

Each project is a tiny source tree (an sdist stand-in) built into a gold image the way the studio
lays golds out (/testbed, /opt/venv, pytest baked in); the fault is a delta of RUN lines.
"""

from __future__ import annotations

import io
import json
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
GOLD_DOCKERFILE = PYTEST_DOCKERFILE + "COPY . /testbed/\n"


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
            "tinycalc.py": "import json\n\ndef add(a, b):\n    return a + b\n\ndef dump(x):\n    return json.dumps(x)\n",
            "tests/test_calc.py": "from tinycalc import add, dump\n\ndef test_add():\n    assert add(2, 3) == 5\n\n"
                                  "def test_dump():\n    assert dump([1]) == '[1]'\n\n"
                                  "def test_dump_dict():\n    assert dump({'a': 1}) == '{\"a\": 1}'\n",
        },
        delta="printf 'import sys\\nsys.modules[\"json\"] = None\\n' > $(python -c 'import site; print(site.getsitepackages()[0])')/sitecustomize.py",
        repair="rm -f /opt/venv/lib/python3*/site-packages/sitecustomize.py",
        f2p=["tests/test_calc.py::test_dump", "tests/test_calc.py::test_dump_dict"],
        p2p=["tests/test_calc.py::test_add"],
        instruction="Serialising values with `tinycalc.dump` fails with an ImportError about json; "
                    "make the test suite in /testbed pass again.",
    ),
    Project(
        name="tinytext",
        files={
            "tinytext.py": "import csv\nimport io\n\ndef rows(text):\n    return list(csv.reader(io.StringIO(text)))\n\n"
                           "def shout(s):\n    return s.upper()\n",
            "tests/test_text.py": "from tinytext import rows, shout\n\ndef test_rows():\n    assert rows('a,b\\n') == [['a', 'b']]\n\n"
                                  "def test_shout():\n    assert shout('hi') == 'HI'\n",
        },
        delta="printf 'raise ImportError(\"csv is unavailable\")\\n' > /testbed/csv.py",
        repair="rm -f /testbed/csv.py",
        f2p=["tests/test_text.py::test_rows"],
        p2p=["tests/test_text.py::test_shout"],
        instruction="Importing `tinytext` fails with `ImportError: csv is unavailable` and its tests error out; "
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


def run_harbor(task_dir: Path, agent: str, jobs: Path) -> tuple[list[dict], float]:
    name = f"{agent}-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    proc = subprocess.run([str(HARBOR), "run", "--path", str(task_dir), "--agent", agent, "--jobs-dir", str(jobs),
                           "--job-name", name, "-y", "-q"], capture_output=True, text=True, timeout=1800)
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
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    results = runs / run_id / "results.json"
    assert results.exists(), f"tb wrote no results.json: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    rows = [{"task": r["task_id"], "resolved": r["is_resolved"], "failure_mode": r["failure_mode"],
             "tests": r.get("parser_results")} for r in json.loads(results.read_text())["results"]]
    return rows, seconds
