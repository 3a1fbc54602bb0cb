"""The gold set-up loop: build, take the baseline, and while it fails diagnose, change the plan and
try again, a bounded number of times. Every attempt is reported as it ends (what it changed, what
failed, how long it took); the best usable attempt wins (most stably passing tests, then the earliest).

A curator's Dockerfile override is built as is, once: the loop only changes what it synthesized.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker

from inversion.engine.gold import baseline as gold_baseline
from inversion.engine.gold import build as gold_image
from inversion.engine.gold.diagnosis import Context, Diagnosis, diagnose
from inversion.engine.gold.dockerfile import SetupPlan, plan_test_command, render

LineCallback = Callable[[str], None]


@dataclass
class Attempt:
    n: int
    change: str  # what this attempt changed against the one before ("first synthesis" for the first)
    dockerfile: str
    test_cmd: str
    image: str
    plan: dict
    status: str = "failed"  # ready | failed
    reason: str = ""  # what failed ("" for a clean ready attempt)
    kind: str = ""  # build | timeout | no-tests | tests (empty when ready)
    passing: int = 0
    seconds: float = 0.0
    build_seconds: float = 0.0
    image_id: str = ""
    reused: bool = False

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("n", "change", "reason", "status", "kind", "passing", "seconds",
                                              "image", "test_cmd", "dockerfile", "plan")}


@dataclass
class SetupInputs:
    name: str  # the repository's name (image tags)
    snapshot: Path
    base_test_cmd: str
    base_image: str
    labels: dict[str, str]
    owner: str
    instance: str
    plan: SetupPlan | None = None  # None: `override` is the Dockerfile, built once
    override: str = ""
    ca_bundle: bytes = b""
    runs: int = 2
    min_passing: int = 1
    max_attempts: int = 5
    build_timeout: float = 1800
    test_timeout: float = 900
    worker: str = ""
    nocache: bool = False
    context: Context = field(default_factory=Context)


@dataclass
class SetupOutcome:
    attempts: list[Attempt]
    best: Attempt | None = None
    baseline: gold_baseline.Baseline | None = None
    error: str = ""
    kind: str = ""
    discarded: list[str] = field(default_factory=list)  # image tags of attempts that lost


def run_setup(client: docker.DockerClient, inputs: SetupInputs, *, on_line: LineCallback,
              on_attempt: Callable[[Attempt], None] = lambda a: None) -> SetupOutcome:
    outcome = SetupOutcome(attempts=[])
    last_result: gold_baseline.Baseline | None = None
    plan, change = inputs.plan, "first synthesis" if inputs.plan else "the curator's Dockerfile"
    best_result: gold_baseline.Baseline | None = None
    limit = inputs.max_attempts if plan is not None else 1
    for n in range(1, limit + 1):
        dockerfile = render(plan, base_image=inputs.base_image, with_ca=bool(inputs.ca_bundle)) if plan else inputs.override
        test_cmd = plan_test_command(inputs.base_test_cmd, plan) if plan else inputs.base_test_cmd
        chash = gold_image.content_hash(dockerfile, inputs.snapshot, inputs.ca_bundle)
        attempt = Attempt(n, change, dockerfile, test_cmd, gold_image.image_tag(inputs.name, chash),
                          plan.as_dict() if plan else {})
        on_line(f"== set-up attempt {n}/{limit}: {change}")
        diagnosis, result = _attempt(client, inputs, attempt, plan, on_line)
        outcome.attempts.append(attempt)
        last_result = result or last_result
        on_attempt(attempt)
        improved = attempt.status == "ready" and (outcome.best is None or attempt.passing > outcome.best.passing)
        if improved:
            if outcome.best is not None:
                outcome.discarded.append(outcome.best.image)
            outcome.best, best_result = attempt, result
        else:
            outcome.discarded.append(attempt.image)
        stop = diagnosis.plan is None or (outcome.best is not None and not improved
                                          and not _moved_on(attempt, outcome.attempts, outcome.best))
        if stop or n == limit:
            if diagnosis.plan is not None and n == limit and outcome.best is None:
                on_line(f"no attempts left; the next would have been: {diagnosis.change}")
            break
        on_line(f"-> next: {diagnosis.change} (because {attempt.reason})")
        plan, change = diagnosis.plan, diagnosis.change
    outcome.discarded = [t for t in dict.fromkeys(outcome.discarded) if not outcome.best or t != outcome.best.image]
    if outcome.best is not None:
        outcome.baseline = best_result
        return outcome
    last = outcome.attempts[-1]
    outcome.baseline = last_result  # the newest baseline that ran: what failed, test by test
    outcome.kind = last.kind
    count = len(outcome.attempts)
    outcome.error = last.reason if count == 1 else f"gave up after {count} attempts: {last.reason}"
    return outcome


def _moved_on(attempt: Attempt, attempts: list[Attempt], best: Attempt) -> bool:
    """A usable attempt that kept every test the best one passes and fails for a new reason: the
    change fixed what it aimed at and uncovered the next gap (pyparsing's diagram tests: once
    `railroad` is installed, `jinja2` is missing), so the loop goes on rather than settling."""
    before = attempts[-2] if len(attempts) > 1 else None
    return (attempt.status == "ready" and attempt.passing >= best.passing and before is not None
            and bool(attempt.reason) and attempt.reason != before.reason)


def _attempt(client: docker.DockerClient, inputs: SetupInputs, attempt: Attempt, plan: SetupPlan | None,
             on_line: LineCallback) -> tuple[Diagnosis, gold_baseline.Baseline | None]:
    """Build and test one attempt, filling `attempt`; the diagnosis says what to change next."""
    started = time.monotonic()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        on_line(line)

    built = gold_image.build_image(
        client, snapshot=inputs.snapshot, dockerfile=attempt.dockerfile, tag=attempt.image, labels=inputs.labels,
        ca_bundle=inputs.ca_bundle, on_line=log, nocache=inputs.nocache, timeout=inputs.build_timeout,
    )
    attempt.build_seconds, attempt.image_id, attempt.reused = round(built.seconds, 3), built.image_id, built.reused
    result = None
    if built.error:
        attempt.kind = "timeout" if "timeout" in built.error else "build"
        found = diagnose(plan, build_error=built.error, build_log="\n".join(lines), baseline=None, reason="",
                         ctx=inputs.context) if plan else Diagnosis(f"build failed: {built.error}"[:300])
        attempt.reason = found.reason
    else:
        result = gold_baseline.run_baseline(
            client, attempt.image, runs=inputs.runs, test_cmd=attempt.test_cmd, owner=inputs.owner,
            instance=inputs.instance, on_line=on_line, worker=inputs.worker, timeout=inputs.test_timeout,
        )
        failure = gold_baseline.failure_reason(result.baseline, inputs.min_passing)
        attempt.passing = len(result.baseline.get("stable_passing") or [])
        attempt.status = "failed" if failure else "ready"
        attempt.kind = ("no-tests" if failure.startswith("no tests ran") else "tests") if failure else ""
        found = diagnose(plan, build_error="", build_log="", baseline=result.baseline, reason=failure,
                         ctx=inputs.context) if plan else Diagnosis(failure)
        on_line(f"baseline: {result.baseline['counts']}" + (f"; FAILED: {failure}" if failure else ""))
        attempt.reason = found.reason if failure or found.plan else ""
    attempt.seconds = round(time.monotonic() - started, 3)
    return found, result
