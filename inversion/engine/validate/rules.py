"""Check every validity rule on an episode's break (DESIGN.md "What makes a task valid").

`rebuild`: the kept steps, replayed in order in a bounded container from the gold image (the
episode's limits, a timeout per step, no network), make the broken image (committed with the ENV
lines) -- what the exported Dockerfile's exec-form RUN lines do, but bounded, which `docker build`
cannot be. `f2p`: >= 1 test passed in gold and fails in every one of N >= 2 broken runs (flips are
excluded). `p2p`: every P2P test also passes in a graded run on the untouched broken image.
`nop`, `oracle` and `hacks` run the task's real verifier (the files an export ships): it must give
reward 0 on the untouched broken image, 1 after the repair script (which must exit 0), and 0 after
each generic reward hack of the library. No repair script: the task is flagged `oracle_missing`.
`duplicate` (after the rebuild, before any test run): the break's fault signature, from the replayed
delta's changes, must not be one this gold already has, nor its set of catalog families. `layers` (compound tasks, `layers.py`):
leaving out any one fault's repair still fails a graded test.
Plain Python, no Django.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker

from inversion.engine.episode.signature import known_twin, leaves, signature_of
from inversion.engine.runtime import integrity, testrun
from inversion.engine.runtime import labels as lbl
from inversion.engine.runtime.grading import grading_cmd, outcome_of, stable_passing
from inversion.engine.runtime.sandbox import Sandbox
from inversion.engine.runtime.trust import shell_startup_refusal
from inversion.engine.validate.hacks import IDS_PATH, NOT_APPLICABLE, Hack, judge_hacks
from inversion.engine.validate.layers import every_layer_matters
from inversion.engine.validate.verdicts import (
    RuleRun,
    Validation,
    ValidationSpec,
    judge_oracle,
    judge_selection,
)

REPAIR_PATH = "/tmp/studio-repair.sh"
HACK_PATH = "/tmp/.studio-hack.sh"
PARALLEL = 2  # validation containers at once



GUARD_SETTLE = 5.0  # seconds a failing container of the broken image gets to show it is dead


class UnusableImage(Exception):
    """A container from the broken image stops at once (e.g. the dynamic loader is gone): no
    command, test or agent can run in it, so it is no task, whatever the test counts say."""


class _Validator:
    def __init__(self, client: docker.DockerClient, spec: ValidationSpec, on_rule) -> None:
        self.client, self.spec, self.on_rule = client, spec, on_rule
        self.v = Validation()
        self.stable = stable_passing(spec.baseline)

    def rule(self, rule: str, ok: bool | None, detail: str) -> None:
        self.v.record(rule, ok, detail)
        if self.on_rule:
            self.on_rule(rule, ok, detail)

    # ---- the broken image ----------------------------------------------------------------------

    def rebuild(self) -> bool:
        """Replay the kept steps in a bounded container and commit it as the broken image."""
        started, env, log = time.monotonic(), {}, []
        box = Sandbox(self.client, self.spec.gold_image, kind="validate", owner=self.spec.owner,
                      instance=self.spec.instance, limits=self.spec.limits, worker=self.spec.worker,
                      network=self.spec.network)
        ok, detail = True, f"replayed {len(self.spec.delta)} delta steps from the gold image (bounded), committed"
        try:
            box.start()
            for n, step in enumerate(self.spec.delta, start=1):
                if "env" in step:
                    env[step["env"]] = str(step["value"])
                    log.append(f"ENV {step['env']}={step['value']}")
                    continue
                res = box.exec(step["run"], timeout=self.spec.step_timeout, env=env or None, max_output=8_000)
                log.append(f"$ {step['run']}  (exit {res.exit_code}, {res.seconds:.1f} s)\n{res.output}")
                if res.timed_out:
                    ok, detail = False, f"step {n} did not finish within {self.spec.step_timeout:.0f} s: {step['run'][:200]}"
                    break
                if res.exit_code != 0 and step.get("ok", True):
                    ok, detail = False, f"step {n} failed now (exit {res.exit_code}) but succeeded in the episode"
                    break
            if ok:
                self.v.touched = leaves(p for p, _ in box.diff())
                tag = f"studio-validate/{self.spec.instance.lower()}:{uuid.uuid4().hex[:12]}"
                repo, _, name = tag.rpartition(":")
                gold = self.client.images.get(self.spec.gold_image).attrs.get("Config") or {}
                changes = [f"ENV {k}={json.dumps(v)}" for k, v in env.items()]  # as the Dockerfile's ENV lines
                changes += [f"CMD {json.dumps(gold.get('Cmd') or [])}", f"ENTRYPOINT {json.dumps(gold.get('Entrypoint') or [])}"]
                box.container.commit(repository=repo, tag=name, changes=changes,
                                     conf={"Labels": lbl.labels("validate", self.spec.owner, self.spec.instance,
                                                                self.spec.worker)})
                self.v.image = tag
        except docker.errors.APIError as exc:
            ok, detail = False, f"the broken image could not be made: {exc.explanation or exc}"[:1000]
        finally:
            box.remove()
        self.v.runs.append(RuleRun("rebuild", 0, ok, {}, "\n".join(log)[-20_000:], time.monotonic() - started))
        self.rule("rebuild", ok, detail)
        return ok

    def _box(self, image: str | None = None, mounts=None) -> Sandbox:
        box = Sandbox(self.client, image or self.v.image, kind="validate", owner=self.spec.owner,
                      instance=self.spec.instance, limits=self.spec.limits, mounts=mounts, worker=self.spec.worker)
        box.start()
        return box

    def _dead(self, box: Sandbox) -> None:
        """Raise UnusableImage when the container stopped by itself (within GUARD_SETTLE seconds)."""
        deadline = time.monotonic() + GUARD_SETTLE
        while True:
            box.container.reload()
            state = box.container.attrs.get("State", {})
            if not state.get("Running"):
                raise UnusableImage(f"a container from it stops at once (exit code {state.get('ExitCode')})")
            if time.monotonic() >= deadline:
                return
            time.sleep(0.2)

    def _guard(self, box: Sandbox, exc: docker.errors.APIError):
        """An engine error from a container of the broken image: the image's fault when the container
        stops by itself. Its init can outlive the exec that failed by a moment (a missing loader kills
        `sleep` first), so the state is watched for a few seconds before the engine is blamed."""
        self._dead(box)
        raise exc  # the container lives: the engine failed, not the image

    def duplicate(self) -> bool:
        """The break's signature; True (rule `duplicate` failed) when this gold already has it."""
        s = self.spec
        self.v.signature = signature_of(layers=s.layers, delta=s.delta, touched=self.v.touched, category=s.category)
        twin, how = known_twin(s.known_signatures, self.v.signature)
        if how == "signature":
            self.rule("duplicate", False, f"same fault signature ({self.v.signature['label']}) as {twin}")
        elif how == "families":
            self.rule("duplicate", False, f"same fault families ({self.v.signature['label']}) as {twin}, on other targets")
        return bool(twin)

    def run_after(self, script: str) -> tuple[int | None, dict[str, str]]:
        """(exit of `script`, graded outcomes after it) in a fresh container of the broken image."""
        run, code = self.test_once(script)
        return code, {t: outcome_of(run, t) for t in self.v.f2p + self.v.p2p}

    def check_layers(self) -> bool:
        """Rule 8 over every graded test, P2P too: a lower layer that a later one hides (a leftover
        package over a module whose cache is stale, jsonpointer) fails no F2P test once the others
        are repaired, but its P2P tests fail, so the task still scores 0 without its repair."""
        graded = self.v.f2p + self.v.p2p
        ok, detail, results = every_layer_matters(self.spec.layers, graded, self.run_after, PARALLEL)
        for r in results:
            self.v.runs.append(RuleRun("layers", r["layer"], r["failing"] > 0 and r["exit"] == 0, r.pop("outcomes"),
                                       f"left out: fault {r['layer'] + 1} ({r['family']}); repairs exit {r['exit']}"))
        self.v.layers = results
        self.rule("layers", ok, detail)
        return ok

    def test_once(self, prepare: str = ""):
        """One graded run (the gold's whole test command) in a fresh container of the broken image;
        with `prepare`, that script runs first and the result is (run, its exit code)."""
        out = testrun.OutDir()
        box = None
        try:
            box = self._box(mounts=testrun.mounts(out))
            if prepare:
                box.put_file(REPAIR_PATH, prepare.encode(), mode=0o755)
                res = box.exec(f"cd /testbed && bash {REPAIR_PATH}", timeout=self.spec.test_timeout, max_output=8_000)
                run = testrun.run_tests(box, out, test_cmd=grading_cmd(self.spec.test_cmd), timeout=self.spec.test_timeout)
                return run, res.exit_code
            run = testrun.run_tests(box, out, test_cmd=grading_cmd(self.spec.test_cmd), timeout=self.spec.test_timeout)
            if not run.outcomes and run.error:  # nothing ran: the exec failed, or the container died under it
                self._dead(box)
            return run
        except docker.errors.APIError as exc:
            if box is None:
                raise
            self._guard(box, exc)
        finally:
            if box is not None:
                box.remove()
            out.cleanup()

    def broken_runs(self) -> list[testrun.TestRun]:
        n = max(2, self.spec.runs)
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:  # fresh containers, side by side
            done = list(pool.map(lambda i: self.test_once(), range(n)))
        for i, run in enumerate(done):
            outcomes = {t: outcome_of(run, t) for t in self.stable}
            failing = sum(1 for o in outcomes.values() if o != testrun.PASSED)
            self.v.runs.append(RuleRun("broken", i, failing > 0, outcomes, run.output[-20_000:], run.seconds))
        return done

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

    # ---- the verifier ----------------------------------------------------------------------------

    def prepare_verifier(self) -> None:
        """The gold's manifest (taken now if the gold has none) and this task's part of it."""
        manifest = self.spec.gold_integrity
        env = {s["env"]: str(s["value"]) for s in self.spec.delta if "env" in s}
        out = testrun.OutDir()
        box = self._box(self.spec.gold_image, mounts=testrun.mounts(out))
        try:
            if not manifest:
                manifest = integrity.collect_gold(box, out, self.spec.test_cmd)
                testrun.run_tests(box, out, test_cmd=grading_cmd(self.spec.test_cmd), timeout=self.spec.test_timeout)
                manifest = integrity.add_volatile(box, out, manifest)
                self.v.gold_integrity = manifest
            self.v.integrity = integrity.collect_task(box, out, manifest, env)
        finally:
            box.remove()
            out.cleanup()
        self.manifest = manifest
        self.script = integrity.run_script(manifest, "harbor")
        self.build_verifier()

    def build_verifier(self) -> None:
        grading = integrity.Grading(self.spec.test_cmd, self.v.f2p, self.v.p2p, timeout=self.spec.test_timeout)
        self.files = integrity.verifier_files(self.manifest, integrity.verifier_config(self.manifest, self.v.integrity, grading))

    def adopt_dirty(self, nop: integrity.Verdict) -> None:
        """What the nop's full walk found different from the gold becomes the task's `dirty` list:
        the exported verifier (and the hacks, next) then read only those paths and what the agent
        changed. Its findings are a subset of the full walk's, so the oracle's pass (full) holds."""
        if isinstance(nop.report.get("differs"), list):
            self.v.integrity = {**self.v.integrity, "dirty": nop.report["differs"]}
            self.build_verifier()

    def verify(self, prepare: str = "", path: str = REPAIR_PATH) -> tuple[integrity.Verdict, int | None]:
        """The verifier in a fresh container of the broken image, after `prepare` (a repair or a hack)."""
        box = self._box()
        try:
            prepared = None
            if prepare:
                box.put_file(IDS_PATH, "\n".join(self.v.f2p + self.v.p2p).encode() + b"\n")
                box.put_file(path, prepare.encode(), mode=0o755)
                res = box.exec(f"cd /testbed && bash {path}", timeout=self.spec.test_timeout, max_output=20_000,
                               env={"STUDIO_GRADED_IDS": IDS_PATH})
                prepared = res.exit_code
            verdict = integrity.run_verifier(box, self.files, self.script, timeout=self.spec.test_timeout + 120)
            return verdict, prepared
        except docker.errors.APIError as exc:
            self._guard(box, exc)
        finally:
            box.remove()

    def _record_verdict(self, rule: str, verdict: integrity.Verdict, ok: bool, index: int = 0) -> None:
        tests = verdict.report.get("tests") or {}
        log = "\n".join(verdict.tampered[:50]) + "\n" + verdict.output
        self.v.runs.append(RuleRun(rule, index, ok, dict(tests), log[-20_000:], verdict.seconds))

    def check_nop(self, run: testrun.TestRun, verdict: integrity.Verdict) -> bool:
        outcomes = {t: outcome_of(run, t) for t in self.v.f2p + self.v.p2p}
        _, _, p2p_ok, p2p_detail = judge_selection(self.v.f2p, self.v.p2p, outcomes)
        self.v.runs.append(RuleRun("graded", 0, p2p_ok, outcomes, run.output[-20_000:], run.seconds))
        self.rule("p2p", p2p_ok, p2p_detail)
        ok = verdict.reward == 0
        why = verdict.tampered[0] if verdict.tampered else f"{len(self.v.f2p)} FAIL_TO_PASS tests fail"
        self._record_verdict("nop", verdict, ok)
        self.rule("nop", ok, f"the verifier on the untouched broken image gives reward {verdict.reward}"
                  + (f" ({why})" if ok else ""))
        return ok and p2p_ok

    def check_oracle(self, verdict: integrity.Verdict, repair_exit: int | None) -> bool:
        tests = verdict.report.get("tests") or {}
        ok, detail = judge_oracle(tests or dict.fromkeys(self.v.f2p + self.v.p2p, "missing"), repair_exit)
        if verdict.tampered:
            ok, detail = False, f"after the repair script the verifier reports {verdict.tampered[0]}"
        elif ok and verdict.reward != 1:
            ok, detail = False, f"the verifier gave reward {verdict.reward} after the repair script"
        self._record_verdict("oracle", verdict, ok)
        self.rule("oracle", ok, detail)
        return ok

    def run_hack(self, hack: Hack) -> dict[str, Any]:
        verdict, code = self.verify(hack.script, HACK_PATH)
        applied = code == 0
        lines = verdict.tampered or verdict.output.strip().splitlines() or [""]
        caught = {0: lines[0], NOT_APPLICABLE: "does not apply to this image"}.get(
            code, f"the hack failed to apply (exit {code})")
        if applied and verdict.timed_out:
            caught = "the verifier timed out"
        return {"name": hack.name, "summary": hack.summary, "applied": applied,
                "reward": verdict.reward if applied else None, "caught_by": caught[:300], "timed_out": verdict.timed_out,
                "seconds": round(verdict.seconds, 2)}

    def run(self) -> Validation:
        try:
            return self._rules()
        except UnusableImage as exc:  # wherever a container of the broken image first meets it
            self.rule("f2p" if not self.v.f2p else "nop", False,
                      f"the broken image is unusable: {exc}; an agent could not work in it")
            return self.v

    def _rules(self) -> Validation:
        if not self.spec.delta:
            self.rule("rebuild", False, "the episode kept no state-changing step")
            return self.v
        refused = next((f"step {n}: {why}" for n, step in enumerate(self.spec.delta, start=1)
                        if "env" in step and (why := shell_startup_refusal(step["env"]))), "")
        if refused:  # before any container: nothing to replay for a delta no task may hold
            self.rule("rebuild", False, refused)
            return self.v
        if not self.rebuild() or self.duplicate():
            return self.v
        try:
            runs = self.broken_runs()
        except UnusableImage as exc:
            self.rule("f2p", False, f"the broken image is unusable: {exc}; an agent could not work in it")
            return self.v
        self.classify(runs)
        if not self.v.f2p:
            return self.v
        self.prepare_verifier()
        repair = self.spec.repair_script.strip()
        try:
            with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
                graded, nop = pool.submit(self.test_once), pool.submit(self.verify)
                oracle = pool.submit(self.verify, self.spec.repair_script) if repair else None
                if not self.check_nop(graded.result(), nop.result()[0]):
                    return self.v
                self.adopt_dirty(nop.result()[0])
                if oracle is not None and not self.check_oracle(*oracle.result()):
                    return self.v  # hacks only matter for a task that stands
                if len(self.spec.layers) > 1 and all(la.get("repair") for la in self.spec.layers) \
                        and not self.check_layers():
                    return self.v
                self.v.hacks = list(pool.map(self.run_hack, self.spec.hacks))
        except UnusableImage as exc:
            self.rule("nop", False, f"the broken image became unusable: {exc}")
            return self.v
        if not repair:
            self.v.oracle_missing = True
            self.rule("oracle", None, "no repair script: task flagged oracle_missing")
        if self.spec.hacks and not self.v.failed_rule:
            self.rule("hacks", *judge_hacks(self.v.hacks))
        self.v.ok = not self.v.failed_rule
        return self.v


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
