"""The inversion loop: an agent acts in a container from the gold image until stably passing
tests fail, the budget runs out, the episode is cancelled or the agent finishes.

Plain Python (no Django). Every step is reported through `emit(kind, payload, duration_ms,
prompt_tokens, completion_tokens)`; the caller stores it and broadcasts it. The container is
always removed. State-changing commands (those after which `docker diff` changes) and SetEnv
actions are kept in order in `EpisodeResult.delta`; that is what materialize turns into
Dockerfile lines.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import docker

from inversion.engine.episode.actions import Finish, RunCommand, RunTests, SetEnv
from inversion.engine.episode.agents.base import MARKS, MESSAGED, Agent, AgentContext, Budget, Observation
from inversion.engine.episode.categories import canonical_category
from inversion.engine.episode.changes import WRITE_HINT, changed_paths, upper_dir, upper_fingerprint
from inversion.engine.runtime import testrun
from inversion.engine.runtime.grading import grading_cmd, outcome_of, stable_passing
from inversion.engine.runtime.sandbox import Limits, Sandbox
from inversion.engine.runtime.trust import shell_startup_refusal

Emit = Callable[[str, dict, int, int, int], None]
OUTPUT_CAP = 16_000
ALL_TESTS_LIMIT = 400  # run every stably passing test when there are at most this many
SAMPLE_SIZE = 200



@dataclass
class EpisodeSpec:
    image: str
    baseline: dict[str, Any]
    instance: str = "default"
    owner: str = ""
    test_cmd: str = testrun.DEFAULT_TEST_CMD
    network: str = "none"
    limits: Limits = field(default_factory=Limits)
    test_timeout: float = 300.0
    worker: str = ""  # the worker process running it (container label for the sweeper)


@dataclass
class EpisodeResult:
    status: str = "no_task"  # succeeded | no_task | cancelled | error
    reason: str = ""
    delta: list[dict[str, str]] = field(default_factory=list)  # {"run": cmd, "ok": bool} | {"env": n, "value": v}
    env: dict[str, str] = field(default_factory=dict)
    newly_failing: list[str] = field(default_factory=list)
    finish: Finish | None = None
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    container_id: str = ""
    touched: list[str] = field(default_factory=list)

    @property
    def layers(self) -> list[dict[str, Any]]:
        """One entry per fault laid ({family, category, target, summary, repair}); [] without a finish."""
        f = self.finish
        if f is None:
            return []
        if f.layers:
            return [dict(layer) for layer in f.layers]
        return [{"family": f.fault_family, "category": f.category, "target": "", "summary": f.summary,
                 "repair": f.repair_script}]

    def as_dict(self) -> dict[str, Any]:
        layers = self.layers
        return {"delta": self.delta, "env": self.env, "newly_failing": self.newly_failing,
                "layers": layers, "fault_count": max(1, len(layers)), "touched": self.touched[:200]}


def select_tests(stable: list[str], touched: set[str], surface: dict[str, Any], seed: int) -> list[str] | None:
    """All stably passing tests when cheap (None), else a sample led by tests linked to touched paths."""
    if len(stable) <= ALL_TESTS_LIMIT:
        return None
    linked_files = set()
    for test_file, deps in (surface.get("per_file") or {}).items():
        names = [*deps.get("modules", []), *deps.get("shared_libs", [])]
        if any(p and any(p in str(n) or str(n) in p for n in names) for p in touched):
            linked_files.add(test_file)
    first = [t for t in stable if t.split("::")[0] in linked_files]
    rest = [t for t in stable if t.split("::")[0] not in linked_files]
    random.Random(seed).shuffle(rest)
    return (first + rest)[:SAMPLE_SIZE]


class _Loop:
    def __init__(self, client, spec, agent, context, emit, should_cancel):
        self.client, self.spec, self.agent, self.context = client, spec, agent, context
        self.emit, self.should_cancel = emit, should_cancel
        self.budget: Budget = context.budget
        self.result = EpisodeResult()
        self.stable = stable_passing(spec.baseline)
        self.order = {t: i for i, t in enumerate(self.stable)}  # the baseline's order of its stable tests
        self.touched: set[str] = set()
        self.delta_steps: list[int] = []  # the loop step that kept each delta entry
        self.dirty = False  # mutated since the last test run

    def run(self) -> EpisodeResult:
        out = testrun.OutDir()
        box = Sandbox(self.client, self.spec.image, kind="episode", owner=self.spec.owner,
                      instance=self.spec.instance, network=self.spec.network, limits=self.spec.limits,
                      mounts=testrun.mounts(out), worker=self.spec.worker)
        try:
            box.start()
            self.result.container_id = box.id
            self.box, self.out = box, out
            self.emit("status", {"status": "running", "message": f"container {box.id[:12]} from {self.spec.image}"}, 0, 0, 0)
            self.upper = upper_dir(box)
            self.diff = self._snapshot()
            self.agent.start(self.context)
            self._steps()
        except docker.errors.APIError as exc:
            if self._stopped(box):  # e.g. `kill -9 -1`: the agent ended the container's own processes
                self.dirty = True  # nothing can be checked any more
                self._end("the container stopped: a command killed its main process, so nothing more can run")
            else:
                self._error(exc)
        except Exception as exc:  # Docker or agent failure: recorded, never raised to the job
            self._error(exc)
        finally:
            box.remove()
            out.cleanup()
        self.result.touched = sorted(self.touched)
        return self.result

    def _error(self, exc: Exception) -> None:
        self.result.status, self.result.reason = "error", f"{type(exc).__name__}: {exc}"[:2000]
        self.emit("error", {"message": self.result.reason}, 0, 0, 0)

    @staticmethod
    def _stopped(box: Sandbox, settle: float = 0.0) -> bool:
        """Whether the container stopped (waiting up to `settle` s: its state lags its processes)."""
        deadline = time.monotonic() + settle
        while True:
            try:
                box.container.reload()
                if box.container.status != "running":
                    return True
            except docker.errors.APIError:
                return False
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _snapshot(self):
        return upper_fingerprint(self.upper) if self.upper else self.box.diff()

    def _stop_reason(self, started: float) -> str:
        r, b = self.result, self.budget
        if self.should_cancel():
            return "cancelled"
        if r.steps >= b.max_steps:
            return f"budget: {b.max_steps} steps used"
        if r.prompt_tokens + r.completion_tokens >= b.max_tokens:
            return f"budget: {b.max_tokens} tokens used"
        if time.monotonic() - started >= b.max_seconds:
            return f"budget: wall time {b.max_seconds:.0f} s used"
        return ""

    def _steps(self) -> None:
        started, last = time.monotonic(), None
        r = self.result
        while True:
            reason = self._stop_reason(started)
            if reason:
                return self._end(reason)
            t0 = time.monotonic()
            decision = self.agent.next_action(last)
            r.steps += 1
            r.prompt_tokens += decision.prompt_tokens
            r.completion_tokens += decision.completion_tokens
            ms = int((time.monotonic() - t0) * 1000)
            tokens = (decision.prompt_tokens, decision.completion_tokens)
            if decision.thought:
                extra = {"claim": decision.claim} if decision.claim else {}
                extra.update((mark, getattr(decision, mark)) for mark in MARKS if getattr(decision, mark))
                self.emit("thought", {"text": decision.thought[:4000], **extra}, ms, *tokens)
                ms, tokens = 0, (0, 0)
            action = decision.action
            if decision.fatal:
                return self._fatal(decision.error or "the agent cannot go on", ms, tokens)
            if action is None:
                message = decision.error or "the agent returned no action"
                self.emit("error", {"message": message[:4000]}, ms, *tokens)
                last = Observation("error", {"message": message})
            elif isinstance(action, Finish):
                refusal = self._premature(action)
                if not refusal:
                    return self._finish(action, tokens)
                self.emit("error", {"message": refusal}, ms, *tokens)
                last = Observation("error", {"message": refusal})
            elif isinstance(action, SetEnv) and (refusal := shell_startup_refusal(action.name)):
                self.emit("error", {"message": refusal}, ms, *tokens)
                last = Observation("error", {"message": refusal})
            elif isinstance(action, SetEnv):
                r.env[action.name] = action.value
                r.delta.append({"env": action.name, "value": action.value})
                self.delta_steps.append(r.steps)
                self.dirty = True
                payload = {"name": action.name, "value": action.value}
                self.emit("setenv", payload, ms, *tokens)
                last = Observation("setenv", payload)
                tests = self._tests(None, tokens=(0, 0))
                last = Observation("tests", {**tests, "after": payload})
            elif isinstance(action, RunCommand):
                payload = self._command(action, tokens)
                last = Observation("command", payload)
                if payload["mutated"]:
                    last = Observation("tests", {**self._tests(None, tokens=(0, 0)), "after": payload})
            elif isinstance(action, RunTests):
                last = Observation("tests", self._tests(list(action.ids) if action.ids else None, tokens=tokens))
            else:
                self.emit("error", {"message": f"unknown action {action!r}"}, ms, *tokens)
                last = Observation("error", {"message": "unknown action"})

    def _command(self, action: RunCommand, tokens: tuple[int, int]) -> dict[str, Any]:
        limit = self.budget.command_timeout
        timeout = min(action.timeout or limit, limit)
        res = self.box.exec(action.command, timeout=timeout, max_output=OUTPUT_CAP, env=self.result.env or None)
        after = self._snapshot()
        changed = after != self.diff
        mutated = changed or bool(self.upper is None and after and WRITE_HINT.search(action.command))
        if changed:
            self.touched |= changed_paths(self.diff, after)
        self.diff = after
        if action.undoes_from:
            self._drop_from(action.undoes_from)
            self.dirty = self.dirty or mutated
        elif mutated:
            self.result.delta.append({"run": action.command, "ok": res.ok})
            self.delta_steps.append(self.result.steps)
            self.dirty = True
        payload = {"command": action.command, "exit_code": res.exit_code, "output": res.output,
                   "seconds": round(res.seconds, 3), "timed_out": res.timed_out,
                   "truncated_bytes": res.truncated_bytes, "mutated": mutated}
        self.emit("command", payload, int(res.seconds * 1000), *tokens)
        return payload

    def _drop_from(self, step: int) -> None:
        """An undo ran: the kept steps from `step` on leave the delta and their ENV lines are unset."""
        r = self.result
        keep = [i for i, s in enumerate(self.delta_steps) if s < step]
        r.delta = [r.delta[i] for i in keep]
        self.delta_steps = [self.delta_steps[i] for i in keep]
        r.env = {}
        for entry in r.delta:
            if "env" in entry:
                r.env[entry["env"]] = entry["value"]

    def _tests(self, ids: list[str] | None, *, tokens: tuple[int, int]) -> dict[str, Any]:
        selected = ids if ids is not None else select_tests(self.stable, self.touched,
                                                          self.context.surface, self.context.seed)
        run = source = self._run_tests(selected)
        checked = [t for t in (selected or self.stable) if t in set(self.stable)]
        newly = [t for t in checked if outcome_of(run, t) != testrun.PASSED]
        if newly and selected is not None:
            # A subset fails: confirm in the mode validation and the verifier grade in (the whole
            # suite), so a test that only fails when run apart from others is never a "break".
            # It also counts what fails outside the subset (a break of every test is seen as one).
            source = self._run_tests(None)
            confirmed = any(outcome_of(source, t) != testrun.PASSED for t in newly)
            newly = [t for t in self.stable if outcome_of(source, t) != testrun.PASSED] if confirmed else []
        # in the baseline's order whatever the sample: the event keeps the first 200, and two runs
        # failing the same tests must show the same ones (humanize, 314 failing: the sample's tests
        # first made an undo look as if it had left 36-44 tests failing, and ended the episode)
        newly.sort(key=self.order.__getitem__)
        recovered = [t for t in self.result.newly_failing if outcome_of(run, t) == testrun.PASSED]
        if newly:
            self.result.newly_failing = newly
        elif ids is None or not self.result.newly_failing:
            self.result.newly_failing = []
        self.dirty = False
        payload = {"selected": "all" if selected is None else len(selected), "counts": run.counts,
                   "newly_failing": newly[:200], "newly_failing_total": len(newly), "recovered": recovered[:200],
                   "output_tail": run.output[-3000:],
                   "messages": {t: source.outcomes[t].message[:800] for t in newly[:MESSAGED] if t in source.outcomes}}
        self.emit("tests", payload, int(run.seconds * 1000), *tokens)
        return payload

    def _run_tests(self, selected: list[str] | None) -> testrun.TestRun:
        run = testrun.run_tests(self.box, self.out, test_cmd=grading_cmd(self.spec.test_cmd), test_ids=selected,
                                timeout=self.spec.test_timeout, env=self.result.env or None)
        if run.error and self._stopped(self.box, settle=0.5):  # no results because nothing runs any more
            raise docker.errors.APIError("the episode container stopped")
        self.diff = self._snapshot()  # files a test wrote are not the agent's doing
        return run

    def _premature(self, action: Finish) -> str:
        """Refuse a finish while no stably passing test fails (an agent that gives up says
        category "none"); small models otherwise stop before they have broken anything."""
        if action.category == GIVE_UP:
            return ""
        if self.dirty:
            self._tests(None, tokens=(0, 0))
        if self.result.newly_failing:
            return ""
        return ("finish refused: no stably passing test fails yet. Change something the tests depend on "
                "(a module, shared library, config file or environment variable from the surface), then finish. "
                f'To give up, finish with category "{GIVE_UP}".')

    def _finish(self, action: Finish, tokens: tuple[int, int]) -> None:
        r = self.result
        layers = tuple({**la, "category": canonical_category(str(la.get("category") or action.category))}
                       for la in action.layers)
        action = replace(action, category=canonical_category(action.category), layers=layers)
        r.finish = action
        payload = {"category": action.category, "summary": action.summary, "repair_script": action.repair_script}
        if layers:
            payload["layers"] = [{k: la.get(k, "") for k in ("family", "category", "target", "summary")} for la in layers]
        self.emit("finish", payload, 0, *tokens)
        if self.dirty:
            self._tests(None, tokens=(0, 0))
        gave_up = action.category == GIVE_UP  # e.g. "no unused fault left for this gold"
        if r.newly_failing and not gave_up:
            r.status, r.reason = "succeeded", f"{len(r.newly_failing)} stably passing tests now fail"
        else:  # a give-up is no task even where tests fail: no category, no repair, a base it may not trust
            left = f" ({len(r.newly_failing)} stably passing tests fail in the container)" if r.newly_failing else ""
            r.status, r.reason = "no_task", f"the agent gave up: {action.summary or 'no reason given'}{left}" if gave_up else \
                "the agent finished but no stably passing test fails"
        self.emit("status", {"status": r.status, "message": r.reason}, 0, 0, 0)

    def _fatal(self, message: str, ms: int, tokens: tuple[int, int]) -> None:
        """The agent cannot go on (its model endpoint stayed down): an error, never a "no task"."""
        r = self.result
        r.status, r.reason = "error", f"endpoint error: {message}"[:2000]
        self.emit("error", {"message": message[:4000]}, ms, *tokens)
        self.emit("status", {"status": "error", "message": r.reason}, 0, 0, 0)

    def _end(self, reason: str) -> None:
        r = self.result
        if reason == "cancelled":
            r.status = "cancelled"
        elif r.newly_failing and not self.dirty:
            r.status = "succeeded"  # broken, but no repair script: materialize flags the oracle
            reason += f"; {len(r.newly_failing)} stably passing tests fail (no finish, no repair script)"
        else:
            r.status = "no_task"
        r.reason = reason
        self.emit("status", {"status": r.status, "message": reason}, 0, 0, 0)


GIVE_UP = "none"



def run_episode(
    client: docker.DockerClient,
    spec: EpisodeSpec,
    agent: Agent,
    context: AgentContext,
    *,
    emit: Emit,
    should_cancel: Callable[[], bool] = lambda: False,
) -> EpisodeResult:
    """Run one episode to its end; never raises for agent or container failures."""
    return _Loop(client, spec, agent, context, emit, should_cancel).run()
