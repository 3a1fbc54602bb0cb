"""Drives `harbor run` as a subprocess and reads its jobs directory while it runs.

Harbor writes one directory per trial under `<jobs dir>/<job name>/`; a trial is finished when its
`result.json` exists. Watching those files (instead of parsing Harbor's console) gives progress and
per-trial results as they land, and keeps the studio's overhead at a directory scan per second.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tasks.engine.atif import step_count

BASELINE_AGENTS = ("oracle", "nop")  # Harbor's reference agents: never a solver for difficulty
MAX_TEXT = 400_000  # characters kept of a trajectory or a log (a runaway agent writes megabytes)


@dataclass(frozen=True)
class RunSpec:
    """What to run: one `harbor run` over a dataset directory of task directories."""

    harbor: str
    dataset: Path
    agent: str
    jobs_dir: Path
    job_name: str
    model: str = ""
    base_url: str = ""
    attempts: int = 1
    concurrency: int = 2
    agent_kwargs: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        cmd = [
            self.harbor,
            "run",
            "--path",
            str(self.dataset),
            "--agent",
            self.agent,
            "--n-attempts",
            str(self.attempts),
            "--n-concurrent",
            str(self.concurrency),
            "--jobs-dir",
            str(self.jobs_dir),
            "--job-name",
            self.job_name,
            "--yes",
            "--quiet",
        ]
        if self.model:
            cmd += ["--model", self.model]
        if self.base_url:
            cmd += ["--base-url", self.base_url]
        for key, value in sorted(self.agent_kwargs.items()):
            cmd += ["--ak", f"{key}={value}"]
        return cmd


def harness_env(base: dict[str, str] | None = None, api_key: str = "") -> dict[str, str]:
    """Harbor's environment: the classic builder (this engine has no default bridge, so BuildKit
    fails every RUN), no telemetry, LiteLLM's bundled cost map (no download), a key for LLM agents."""
    env = dict(os.environ if base is None else base)
    env.update({"DOCKER_BUILDKIT": "0", "HARBOR_TELEMETRY": "0", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    if api_key or not env.get("OPENAI_API_KEY"):
        env["OPENAI_API_KEY"] = api_key or "sk-studio-local"  # local servers want any key
    return env


@dataclass
class TrialResult:
    """One finished trial, flattened from Harbor's result.json and the files beside it."""

    name: str
    task: str
    reward: float | None
    exception: str = ""
    exception_message: str = ""
    seconds: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    trajectory: str = ""
    trajectory_kind: str = ""  # "atif" | "log" | ""
    verifier_output: str = ""
    steps: int = 0

    @property
    def passed(self) -> bool:
        return self.reward is not None and self.reward >= 1.0 and not self.exception


def _read(path: Path, limit: int = MAX_TEXT) -> str:
    try:
        data = path.read_text(errors="replace")
    except OSError:
        return ""
    return (
        data if len(data) <= limit else data[: limit // 2] + "\n[... truncated ...]\n" + data[-limit // 2 :]
    )


def _seconds(result: dict) -> float:
    try:
        started = datetime.fromisoformat(result["started_at"])
        finished = datetime.fromisoformat(result["finished_at"])
    except (KeyError, TypeError, ValueError):
        return 0.0
    return max(0.0, (finished - started).total_seconds())


def _agent_log(agent_dir: Path) -> str:
    """The agent's own logs where it wrote no ATIF trajectory (oracle.txt, command output ...)."""
    parts = []
    for path in sorted(p for p in agent_dir.rglob("*") if p.is_file() and p.suffix in (".txt", ".log")):
        parts.append(f"== {path.relative_to(agent_dir)} ==\n{_read(path, MAX_TEXT // 4)}")
    return "\n".join(parts)[:MAX_TEXT]


def read_trial(trial_dir: Path) -> TrialResult | None:
    """The finished trial in `trial_dir`, or None while its result.json is missing or half-written."""
    try:
        result = json.loads((trial_dir / "result.json").read_text())
    except (OSError, ValueError):
        return None
    if (
        not result.get("finished_at")
        and not result.get("verifier_result")
        and not result.get("exception_info")
    ):
        return None  # Harbor writes a preliminary result.json at the start of some trials
    rewards = (result.get("verifier_result") or {}).get("rewards") or {}
    exc = result.get("exception_info") or {}
    agent = result.get("agent_result") or {}
    trajectory = _read(trial_dir / "agent" / "trajectory.json")
    kind = "atif" if trajectory else ""
    if not trajectory and (trial_dir / "agent").is_dir():
        trajectory = _agent_log(trial_dir / "agent")
        kind = "log" if trajectory else ""
    verifier = trial_dir / "verifier"
    output = "\n".join(
        x for x in (_read(verifier / "test-stdout.txt"), _read(verifier / "test-stderr.txt")) if x
    )
    return TrialResult(
        name=result.get("trial_name") or trial_dir.name,
        task=str(result.get("task_name", "")).split("/")[-1],
        reward=rewards.get("reward"),
        exception=exc.get("exception_type", ""),
        exception_message=str(exc.get("exception_message", ""))[:4000],
        seconds=_seconds(result),
        input_tokens=agent.get("n_input_tokens"),
        output_tokens=agent.get("n_output_tokens"),
        trajectory=trajectory,
        trajectory_kind=kind,
        verifier_output=output[:MAX_TEXT],
        steps=step_count(trajectory) if kind == "atif" else 0,
    )


@dataclass
class Progress:
    total: int
    done: int
    running: list[str]
    elapsed: float

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far (None before the first trial ends)."""
        if not self.done:
            return None
        return self.elapsed / self.done * max(0, self.total - self.done)


def compose_project(name: str) -> str:
    """Harbor's Docker Compose project name for a trial (its sanitised session id)."""
    name = name.lower()
    if not re.match(r"^[a-z0-9]", name):
        name = "0" + name
    return re.sub(r"[^a-z0-9_-]", "-", name)


class HarborRun:
    """One `harbor run` in its own process group. `watch()` polls the jobs dir, reports each
    finished trial once and progress each second, and stops Harbor when `should_stop()` says so."""

    def __init__(self, spec: RunSpec, total: int, env: dict[str, str] | None = None) -> None:
        self.spec, self.total, self.env = spec, total, env
        self.job_dir = spec.jobs_dir / spec.job_name
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self.seen: set[str] = set()
        self.log_path = spec.jobs_dir / f"{spec.job_name}.harbor.log"

    def start(self) -> None:
        self.spec.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.spec.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )

    def trial_dirs(self) -> list[Path]:
        if not self.job_dir.is_dir():
            return []
        return sorted(p for p in self.job_dir.iterdir() if p.is_dir())

    def poll(self) -> tuple[list[TrialResult], Progress]:
        """New finished trials since the last poll, and where the run stands."""
        new, running = [], []
        for path in self.trial_dirs():
            if path.name in self.seen:
                continue
            trial = read_trial(path)
            if trial is None:
                running.append(path.name.split("__")[0])
            else:
                self.seen.add(path.name)
                new.append(trial)
        return new, Progress(self.total, len(self.seen), running, time.monotonic() - self.started)

    def watch(
        self,
        on_trial: Callable[[TrialResult], None],
        on_progress: Callable[[Progress], None],
        should_stop: Callable[[], bool] = lambda: False,
        interval: float = 1.0,
        timeout: float = 24 * 3600,
    ) -> int | None:
        """Run to the end; returns Harbor's exit code, or None when stopped (cancel or timeout)."""
        assert self.proc is not None, "start() first"
        while True:
            finished = self.proc.poll() is not None
            trials, progress = self.poll()
            for trial in trials:
                on_trial(trial)
            on_progress(progress)
            if finished:
                return self.proc.returncode
            if should_stop() or progress.elapsed > timeout:
                self.stop()
                return None
            time.sleep(interval)

    def stop(self, grace: float = 20.0) -> None:
        """SIGINT to Harbor's process group (it tears its trials down), then SIGTERM, SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def projects(self) -> list[str]:
        """The Compose projects of this run's trials (to remove their containers after a stop)."""
        return [compose_project(p.name) for p in self.trial_dirs()]

    def log_tail(self, chars: int = 2000) -> str:
        return _read(self.log_path)[-chars:]
