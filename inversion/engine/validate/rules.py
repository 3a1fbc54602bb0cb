"""Check every validity rule on an episode's break (DESIGN.md "What makes a task valid").

`rebuild` (gold image + delta builds with no cache), `f2p` (>= 1 test passed in gold and failed
in every one of N >= 2 broken runs; flips are excluded), `p2p` (passed in gold and in every broken
run), `nop` (the task's own test script on the untouched broken image reports failure), `oracle`
(the repair script, run in a broken container, makes the test script report success; no repair
script = flagged, not failed). Plain Python, no Django.
"""

from __future__ import annotations

import contextlib
import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker

from inversion.engine.runtime import labels as lbl
from inversion.engine.runtime import testrun
from inversion.engine.runtime.grading import grading_cmd, outcome_of, stable_passing
from inversion.engine.runtime.sandbox import Limits, Sandbox
from inversion.engine.validate.materialize import delta_lines

REPAIR_PATH = "/tmp/studio-repair.sh"
PARALLEL = 2  # validation containers at once


@dataclass
class RuleRun:
    rule: str
    index: int
    ok: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0


@dataclass
class Validation:
    ok: bool = False
    failed_rule: str = ""
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[RuleRun] = field(default_factory=list)
    f2p: list[str] = field(default_factory=list)
    p2p: list[str] = field(default_factory=list)
    excerpts: dict[str, str] = field(default_factory=dict)
    oracle_missing: bool = False
    image: str = ""

    def record(self, rule: str, ok: bool, detail: str) -> None:
        self.rules[rule] = {"ok": ok, "detail": detail}
        if not ok and not self.failed_rule:
            self.failed_rule = rule


@dataclass
class ValidationSpec:
    gold_image: str
    baseline: dict[str, Any]
    delta: list[dict[str, Any]]
    repair_script: str = ""
    test_cmd: str = testrun.DEFAULT_TEST_CMD
    instance: str = "default"
    owner: str = ""
    runs: int = 2
    limits: Limits = field(default_factory=Limits)
    test_timeout: float = 600.0


def judge_selection(f2p: list[str], p2p: list[str], outcomes: dict[str, str]) -> tuple[bool, str, bool, str]:
    """(nop ok, detail, p2p ok, detail) from a graded run on the untouched broken image: it must not
    pass, and every P2P test must pass in it as in the earlier broken runs (else the grade flips)."""
    bad = [t for t in f2p + p2p if outcomes.get(t) != testrun.PASSED]
    nop = (bool(bad), f"test script on the untouched broken image: {len(bad)} of {len(f2p) + len(p2p)} tests fail")
    broken_p2p = [t for t in p2p if outcomes.get(t) != testrun.PASSED]
    if broken_p2p:
        shown = ", ".join(broken_p2p[:5]) + (" ..." if len(broken_p2p) > 5 else "")
        return (*nop, False, f"{len(broken_p2p)} P2P tests passed in the broken runs but not in the graded run "
                             f"(their outcome is not stable): {shown}")
    return (*nop, True, f"{len(p2p)} tests pass in gold, in every broken run and in the graded run")


def judge_oracle(outcomes: dict[str, str], repair_exit: int | None) -> tuple[bool, str]:
    """The repair script must succeed (exit 0) and leave every graded test passing."""
    bad = sum(1 for o in outcomes.values() if o != testrun.PASSED)
    if repair_exit != 0:
        return False, f"the repair script exited with {repair_exit}; after it {bad} of {len(outcomes)} tests fail"
    return bad == 0, f"after the repair script: {bad} of {len(outcomes)} tests fail"


class UnusableImage(Exception):
    """A container from the broken image stops at once (e.g. the dynamic loader is gone): no
    command, test or agent can run in it, so it is no task, whatever the test counts say."""


class _Validator:
    def __init__(self, client: docker.DockerClient, spec: ValidationSpec, on_rule) -> None:
        self.client, self.spec, self.on_rule = client, spec, on_rule
        self.v = Validation()
        self.stable = stable_passing(spec.baseline)

    def rule(self, rule: str, ok: bool, detail: str) -> None:
        self.v.record(rule, ok, detail)
        if self.on_rule:
            self.on_rule(rule, ok, detail)

    def build(self) -> bool:
        tag = f"studio-validate/{self.spec.instance.lower()}:{uuid.uuid4().hex[:12]}"
        dockerfile = f"FROM {self.spec.gold_image}\n" + "\n".join(delta_lines(self.spec.delta)) + "\n"
        started = time.monotonic()
        try:
            image, logs = self.client.images.build(
                fileobj=io.BytesIO(dockerfile.encode()), tag=tag, nocache=True, rm=True, forcerm=True,
                network_mode="none", labels=lbl.labels("validate", self.spec.owner, self.spec.instance))
            log = "".join(chunk.get("stream", "") for chunk in logs)
            self.v.image = tag
            ok, detail = True, f"rebuilt from the gold image with {len(self.spec.delta)} delta lines, no cache"
        except docker.errors.BuildError as exc:
            log = "".join(chunk.get("stream", "") or chunk.get("error", "") for chunk in exc.build_log)
            ok, detail = False, f"the broken image does not build: {exc.msg}"[:1000]
        self.v.runs.append(RuleRun("rebuild", 0, ok, {}, log[-20_000:], time.monotonic() - started))
        self.rule("rebuild", ok, detail)
        return ok

    def box(self) -> tuple[Sandbox, testrun.OutDir]:
        out = testrun.OutDir()
        box = Sandbox(self.client, self.v.image, kind="validate", owner=self.spec.owner,
                      instance=self.spec.instance, limits=self.spec.limits, mounts=testrun.mounts(out))
        box.start()
        return box, out

    def test_once(self, rule: str, index: int, ids: list[str] | None, prepare: str = "") -> testrun.TestRun:
        box, out = self.box()
        try:
            return self._test_in(box, out, ids, prepare)
        except docker.errors.APIError:
            box.container.reload()
            state = box.container.attrs.get("State", {})
            if state.get("Running"):
                raise  # the engine failed, not the image
            raise UnusableImage(f"a container from it stops at once (exit code {state.get('ExitCode')})") from None
        finally:
            box.remove()
            out.cleanup()

    def _test_in(self, box: Sandbox, out: testrun.OutDir, ids: list[str] | None, prepare: str) -> testrun.TestRun:
        log = ""
        if prepare:
            box.put_file(REPAIR_PATH, prepare.encode(), mode=0o755)
            res = box.exec(f"bash {REPAIR_PATH}", timeout=self.spec.test_timeout, max_output=20_000)
            log = f"$ bash {REPAIR_PATH}  (exit {res.exit_code})\n{res.output}\n"
        run = testrun.run_tests(box, out, test_cmd=grading_cmd(self.spec.test_cmd), test_ids=ids, timeout=self.spec.test_timeout)
        run.output = log + run.output
        if prepare:
            run.prepare_exit = res.exit_code
        return run

    def broken_runs(self) -> list[testrun.TestRun]:
        n = max(2, self.spec.runs)
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:  # fresh containers, side by side
            done = list(pool.map(lambda i: self.test_once("broken", i, None), range(n)))
        runs = []
        for i, run in enumerate(done):
            outcomes = {t: outcome_of(run, t) for t in self.stable}
            failing = sum(1 for o in outcomes.values() if o != testrun.PASSED)
            self.v.runs.append(RuleRun("broken", i, failing > 0, outcomes, run.output[-20_000:], run.seconds))
            runs.append(run)
        return runs

    def classify(self, runs: list[testrun.TestRun]) -> None:
        for t in self.stable:
            seen = {outcome_of(r, t) == testrun.PASSED for r in runs}
            if seen == {False}:
                self.v.f2p.append(t)
                o = runs[0].outcomes.get(t)
                self.v.excerpts[t] = (o.message if o and o.message else runs[0].error or runs[0].output[-2000:])[:2000]
            elif seen == {True}:
                self.v.p2p.append(t)
        flips = len(self.stable) - len(self.v.f2p) - len(self.v.p2p)
        self.rule("f2p", bool(self.v.f2p), f"{len(self.v.f2p)} tests fail in all {len(runs)} broken runs"
                  + (f"; {flips} flipped between runs (excluded)" if flips else ""))

    def script_run(self, rule: str, repair: str = "") -> testrun.TestRun:
        """A graded run: the gold's whole test command, as the full runs and the exported verifier
        run it (a list of node ids would abort the session when one module no longer imports);
        F2P and P2P are read from its results."""
        return self.test_once(rule, 0, None, prepare=repair)

    def check_nop(self, run: testrun.TestRun) -> bool:
        """The graded selection on the untouched broken image: `nop` (it must not pass) and `p2p`
        (every P2P test passes there too: the grader sees what the full-suite runs saw)."""
        outcomes = {t: outcome_of(run, t) for t in self.v.f2p + self.v.p2p}
        nop_ok, nop_detail, p2p_ok, p2p_detail = judge_selection(self.v.f2p, self.v.p2p, outcomes)
        self.v.runs.append(RuleRun("nop", 0, nop_ok, outcomes, run.output[-20_000:], run.seconds))
        self.rule("p2p", p2p_ok, p2p_detail)
        self.rule("nop", nop_ok, nop_detail)
        return nop_ok and p2p_ok

    def check_oracle(self, run: testrun.TestRun) -> bool:
        outcomes = {t: outcome_of(run, t) for t in self.v.f2p + self.v.p2p}
        ok, detail = judge_oracle(outcomes, run.prepare_exit)
        self.v.runs.append(RuleRun("oracle", 0, ok, outcomes, run.output[-20_000:], run.seconds))
        self.rule("oracle", ok, detail)
        return ok

    def run(self) -> Validation:
        if not self.spec.delta:
            self.rule("rebuild", False, "the episode kept no state-changing step")
            return self.v
        if not self.build():
            return self.v
        try:
            runs = self.broken_runs()
        except UnusableImage as exc:
            self.rule("f2p", False, f"the broken image is unusable: {exc}; an agent could not work in it")
            return self.v
        self.classify(runs)
        if not self.v.f2p:
            return self.v
        repair = self.spec.repair_script.strip()
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:  # nop and oracle are independent
            nop = pool.submit(self.script_run, "nop")
            oracle = pool.submit(self.script_run, "oracle", self.spec.repair_script) if repair else None
            if not self.check_nop(nop.result()):
                if oracle is not None:
                    oracle.result()
                return self.v
            if oracle is not None:
                self.check_oracle(oracle.result())
        if not repair:
            self.v.oracle_missing = True
            self.rules_missing_oracle()
        self.v.ok = not self.v.failed_rule
        return self.v

    def rules_missing_oracle(self) -> None:
        self.v.rules["oracle"] = {"ok": None, "detail": "no repair script: task flagged oracle_missing"}
        if self.on_rule:
            self.on_rule("oracle", None, self.v.rules["oracle"]["detail"])



def validate(client: docker.DockerClient, spec: ValidationSpec, *, on_rule=None) -> Validation:
    """Build the broken image and apply every rule; the caller removes `Validation.image` when done.
    When validation itself crashes (the engine failed), the image it built is removed here."""
    validator = _Validator(client, spec, on_rule)
    try:
        return validator.run()
    except Exception:
        remove_image(client, validator.v.image)
        raise


def remove_image(client: docker.DockerClient, image: str) -> None:
    if not image:
        return
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        client.images.remove(image, force=True)
