"""Runs the real harnesses (installed by scripts/setup-harnesses) and reads their result files."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent  # the hack agents import from here
HARNESS_DIR = Path(os.environ.get("STUDIO_HARNESS_DIR", Path.home() / ".cache" / "studio-harness"))
HARBOR = HARNESS_DIR / "harbor" / "bin" / "harbor"
TB = HARNESS_DIR / "tb" / "bin" / "tb"

# This engine has no default bridge network: BuildKit (compose's default builder) fails every RUN
# with "network bridge not found"; the classic builder runs them (the exported compose files give
# the build the host network, as the studio's own gold builds have).
HARNESS_ENV = {**os.environ, "DOCKER_BUILDKIT": "0", "PYTHONPATH": str(SUPPORT), "HARBOR_TELEMETRY": "0",
               "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def run_harbor(path: Path, agent: str, jobs: Path, hack: Path | None = None) -> tuple[list[dict], float]:
    """One job over a task or dataset directory (2 trials at a time); rows from each result.json.
    With `hack`, the agent is the studio's hack agent playing that script."""
    name = f"{hack.stem if hack else agent}-{uuid.uuid4().hex[:8]}"
    extra = ["--agent", "harbor_hack_agent:HackAgent", "--ak", f"hack={hack}"] if hack else ["--agent", agent]
    started = time.monotonic()
    proc = subprocess.run([str(HARBOR), "run", "--path", str(path), *extra, "--jobs-dir", str(jobs),
                           "--job-name", name, "--n-concurrent", "2", "-y", "-q"],
                          capture_output=True, text=True, timeout=1800, env=HARNESS_ENV)
    seconds = time.monotonic() - started
    rows = []
    for f in sorted((jobs / name).glob("*/result.json")):
        r = json.loads(f.read_text())
        rewards = (r.get("verifier_result") or {}).get("rewards") or {}
        exc = r.get("exception_info")
        verdict = f.parent / "verifier" / "verdict.json"  # the studio verifier's report, from /logs/verifier
        walk = json.loads(verdict.read_text()).get("walk") if verdict.exists() else None
        rows.append({"task": r["task_name"], "reward": rewards.get("reward"), "exception": exc and exc["exception_type"],
                     "walk": walk})
    assert rows, f"harbor wrote no trial results: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    return rows, seconds


def run_tb(dataset: Path, agent: str, runs: Path, task_ids: list[str], hack: Path | None = None,
           ) -> tuple[list[dict], float]:
    run_id = f"{hack.stem if hack else agent}-{uuid.uuid4().hex[:8]}"
    chosen = ["--agent-import-path", "tb_hack_agent:HackAgent", "-k", f"hack={hack}"] if hack else ["--agent", agent]
    cmd = [str(TB), "run", *chosen, "--dataset-path", str(dataset), "--output-path", str(runs),
           "--run-id", run_id, "--n-concurrent", "2", "--no-cleanup"]
    for task_id in task_ids:
        cmd += ["--task-id", task_id]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=HARNESS_ENV)
    seconds = time.monotonic() - started
    _drop_volumes(run_id)
    results = runs / run_id / "results.json"
    assert results.exists(), f"tb wrote no results.json: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    rows = [{"task": r["task_id"], "resolved": r["is_resolved"], "failure_mode": r["failure_mode"],
             "tests": r.get("parser_results")} for r in json.loads(results.read_text())["results"]]
    return rows, seconds


def _drop_volumes(run_id: str) -> None:
    """tb's `--no-cleanup` (the images are kept for the next round) leaves each trial's compose volume,
    the verifier's toolbox (4 MB): removed here, as Harbor's `down --volumes` does."""
    found = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"name={run_id}"], capture_output=True, text=True)
    names = found.stdout.split()
    if names:
        subprocess.run(["docker", "volume", "rm", "-f", *names], capture_output=True, timeout=120)


SDISTS = ("pypi:six==1.16.0", "pypi:markupsafe==2.1.5")


def pipeline_tasks(user, sdists: tuple[str, ...] = SDISTS, per_spec: int = 1) -> list:
    """The real pipeline, `per_spec` validated tasks per sdist: repository -> gold build -> built-in
    agent episodes -> validated draft (with an oracle). Gold images are reused when already built."""
    import pytest

    from inversion.models import GoldEnvironment
    from inversion.services.episodes import episode_batch_launch, episode_run
    from inversion.services.golds import gold_build
    from inversion.services.repositories import repository_add_spec
    from tasks.services.materialize import task_materialize

    tasks = []
    for spec in sdists:
        repo, _ = repository_add_spec(spec=spec)
        gold = gold_build(repository=repo)
        assert gold.status == GoldEnvironment.Status.READY, gold.error
        made = 0
        for seed in range(4 * per_spec):
            (episode,) = episode_batch_launch(golds=[gold], count=1, agent="builtin", user=user, seed=seed)
            episode = episode_run(episode=episode, handoff=False)
            task = task_materialize(episode=episode) if episode.status == "validating" else None
            if task is not None and not task.oracle_missing:
                tasks.append(task)
                made += 1
                if made == per_spec:
                    break
        if not made:
            pytest.fail(f"no validated task from {spec}")
    return tasks
