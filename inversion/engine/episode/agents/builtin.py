"""The built-in agent: breaks a gold environment offline, from the fault catalog, with no model.

It acts through the same interface as the LLM agent: a read-only look at its target, the fault's
actions one per step (the loop runs the tests after each mutating step), and, when no stably
passing test fails, an undo of that attempt (dropped from the delta) and the next candidate family.
Choices are seeded: the first category rotates with the seed so a batch spreads across categories.
A (family, target) already made on this gold is tried only when no unused plan is left.

Compound breaks (`faults` > 1): after a fault is confirmed, the next one comes from another category,
preferring the same target (a stub on top of a moved package: fixing the stub reveals the move), and
counts only if it changes what fails (more tests, or another error on the same tests). The repair
undoes the layers outermost first.
"""

from __future__ import annotations

import random
import re
from collections import deque
from typing import Any

from inversion.engine.episode.actions import Finish, RunCommand, RunTests
from inversion.engine.episode.agents.base import Agent, AgentContext, Decision, Observation
from inversion.engine.episode.faults import FaultFamily, FaultPlan, PlanContext, families
from inversion.engine.episode.signature import normalise

ROOT_SHADOW = {"stdlib_shadow_testbed", "site_module_stub"}  # rely on `python -m` putting cwd first
# Categories with a family that applies to nearly any gold: rotated in after the ones this gold
# offers specifically, so a batch over several golds covers more categories.
BROAD_CATEGORIES = {"config", "interpreter", "startup_hooks", "module_shadowing", "encoding", "warnings"}


def _words(text: str) -> str:
    return " " + text.lower().replace("_", " ").replace("-", " ") + " "


def direction_score(fam: FaultFamily, directions: str) -> int:
    """How many of a family's keywords (and its name and category) the directions mention."""
    text = _words(directions)
    terms = {_words(t).strip() for t in (fam.category, fam.name, *fam.keywords)}
    return sum(1 for t in terms if t and re.search(rf"(?<![\w.]){re.escape(t)}(s|es)?(?!\w)", text))


def candidate_order(
    fams: list[FaultFamily], *, seed: int, directions: str = "", used_themes: list[str] | None = None,
) -> list[FaultFamily]:
    """Families to try, best first: directions first, unused themes before used ones, and the
    first category rotated by the seed (seeds 0..n-1 start in n different categories)."""
    rng = random.Random(seed)
    used = {t.strip().lower() for t in used_themes or [] if t.strip()}
    cats = sorted({f.category for f in fams}, key=lambda c: (c in BROAD_CATEGORIES, c))
    start = seed % len(cats) if cats else 0
    rest = cats[:start] + cats[start + 1:]
    rng.shuffle(rest)
    rest.sort(key=lambda c: c in BROAD_CATEGORIES)  # stable: specific ones first, each group shuffled
    cat_rank = {c: i for i, c in enumerate(cats[start:start + 1] + rest)}
    jitter = {f.name: rng.random() for f in fams}

    def key(f: FaultFamily) -> tuple:
        score = direction_score(f, directions) if directions.strip() else 0
        is_used = f.name.lower() in used or f.category.lower() in used
        return (-score, is_used, cat_rank[f.category], jitter[f.name])

    return sorted(fams, key=key)


class BuiltinAgent(Agent):
    kind = "builtin"

    def __init__(self, seed: int | None = None, **_: Any) -> None:
        self.seed = seed

    def start(self, context: AgentContext) -> None:
        super().start(context)
        seed = self.seed if self.seed is not None else context.seed
        self.rng = random.Random(seed)
        surface, baseline = context.surface or {}, context.baseline or {}
        fams = [f for f in families() if f.applicable(surface, baseline) and (context.network or not f.needs_network)]
        if not context.test_cmd.strip().startswith("python -m"):
            fams = [f for f in fams if f.name not in ROOT_SHADOW]
        order = candidate_order(fams, seed=seed, directions=context.directions, used_themes=context.used_themes)
        if context.faults > 1:  # nothing laid under a fault that stops every test from running can show
            order.sort(key=lambda f: f.breaks_all)
        self.candidates = deque(order)
        self.deferred: deque[FaultPlan] = deque()  # plans whose (family, target) this gold has already
        sigs = context.used_signatures or []
        self.used_pairs = {(la.get("kind"), la.get("target")) for sig in sigs for la in sig.get("layers") or []
                           if len(sig.get("layers") or []) == 1}
        self.used_combos = {frozenset((la.get("kind"), la.get("target")) for la in sig.get("layers") or [])
                            for sig in sigs}
        self.plan_ctx = PlanContext(surface, baseline, network=context.network)
        self.wanted = max(1, min(3, int(context.faults or 1)))
        self.plan: FaultPlan | None = None
        self.pending: deque = deque()
        self.layers: list[FaultPlan] = []
        self.seen: tuple[set[str], int, dict[str, str], set[str]] = (set(), 0, {}, set())
        self.plan_start = 0
        self.inert: set[str] = set()  # targets whose breakage changed no test here: skip them for good
        self.steps = 0
        self.explored = False
        self.tried: list[str] = []

    def next_action(self, last: Observation | None) -> Decision:
        self.steps += 1
        return self._decide(last)

    # ---- decisions -------------------------------------------------------------------------

    def _decide(self, last: Observation | None) -> Decision:
        if self.plan is not None and last is not None:
            failed = last.kind == "command" and last.payload.get("exit_code") not in (0, None)
            if last.kind == "tests" and not self.pending and self._visible(last):
                return self._confirm(last)
            if failed and self.pending:
                return self._abandon(f"a step of {self.plan.family} failed (exit {last.payload.get('exit_code')})")
        if self.plan is not None and self.pending:
            action = self.pending.popleft()
            return Decision(action, thought=f"{self.plan.family}: step toward {self.plan.target}")
        if self.plan is not None:
            if last is None or last.kind != "tests":
                return Decision(RunTests(), thought="check whether any stably passing test fails now")
            what = "changed nothing that fails" if self.layers else "broke no stably passing test"
            if not self.layers:
                self.inert.add(normalise(self.plan.target))
            return self._abandon(f"{self.plan.family} {what}")
        return self._next_plan()

    def _visible(self, last: Observation) -> bool:
        """The fault shows: a test fails (first fault), or, on top of earlier ones, more tests fail
        or a failing test now fails with another message."""
        newly = set(last.payload.get("newly_failing") or [])
        if not self.layers:
            return bool(newly)
        before, total, messages, errors = self.seen
        if (last.payload.get("newly_failing_total") or len(newly)) > total or newly - before:
            return True
        now = last.payload.get("messages") or {}
        if any(t in messages and _gist(now[t]) != _gist(messages[t]) for t in now):
            return True
        # tests that no longer collect have no message of their own: compare the run's error lines
        return bool(_errors(last.payload.get("output_tail") or "") - errors)

    def _confirm(self, last: Observation) -> Decision:
        self.layers.append(self.plan)
        newly = set(last.payload.get("newly_failing") or [])
        self.seen = (newly, last.payload.get("newly_failing_total") or len(newly), dict(last.payload.get("messages") or {}),
                     _errors(last.payload.get("output_tail") or ""))
        if len(self.layers) < self.wanted:
            self.plan, self.pending = None, deque()
            decision = self._next_plan(final=False)
            if decision is not None:
                return decision
        return self._finish(last)

    def _fresh(self, fam: FaultFamily) -> FaultPlan | None:
        """A plan of `fam` on a target not made on this gold yet (a few seeded tries), else one on a
        made target; never one on a target whose breakage already changed nothing here (breaking
        libssl outright broke no test: a stale linker cache for it will not either)."""
        first = None
        for _ in range(4):
            try:
                plan = fam.plan(self.plan_ctx, self.rng)
            except (KeyError, IndexError, ValueError):
                return first
            if any(_related(plan.target, t) for t in self.inert):
                continue
            first = first or plan
            if (plan.family, normalise(plan.target)) not in self.used_pairs:
                return plan
        return first

    def _fits(self, plan: FaultPlan) -> bool:
        """Another layer: a new category and family, not the same file or library as an earlier one
        (the second would undo or overwrite the first), and not a combination this gold already has."""
        if any(plan.category == la.category or plan.family == la.family for la in self.layers):
            return False
        if any(_same_object(plan.target, la.target) for la in self.layers):
            return False
        combo = frozenset((p.family, normalise(p.target)) for p in [*self.layers, plan])
        return combo not in self.used_combos

    def _pop(self) -> FaultPlan | None:
        """The next plan: unused (family, target) pairs first; for a later layer, one that fits,
        aimed at an earlier layer's target where possible, and never one that breaks everything."""
        if self.layers:
            pool = [p for p in (self._fresh(f) for f in self.candidates) if p is not None]
            pool += [p for p in self.deferred if not any(_related(p.target, t) for t in self.inert)]
            self.candidates.clear()
            fit = [p for p in pool if self._fits(p)]
            fit.sort(key=lambda p: (not any(_related(p.target, la.target) for la in self.layers),
                                    p.family in BREAKS_ALL, (p.family, normalise(p.target)) in self.used_pairs))
            self.deferred = deque(p for p in pool if p not in fit[:1])
            return fit[0] if fit else None
        while self.candidates:
            plan = self._fresh(self.candidates.popleft())
            if plan is None:
                continue
            if (plan.family, normalise(plan.target)) in self.used_pairs:
                self.deferred.append(plan)
                continue
            return plan
        while self.deferred:
            plan = self.deferred.popleft()
            if not any(_related(plan.target, t) for t in self.inert):
                return plan
        return None

    def _next_plan(self, final: bool = True) -> Decision | None:
        while True:
            plan = self._pop()
            if plan is None:
                break
            if not self._affordable(plan):
                continue
            self.plan, self.pending = plan, deque(plan.actions)
            self.plan_start = self.steps
            self.tried.append(plan.family)
            fam_note = f" (fault {len(self.layers) + 1} of {self.wanted})" if self.wanted > 1 else ""
            thought = f"trying {plan.family} ({plan.category}) on {plan.target}{fam_note}: {plan.summary}"
            if plan.explore and not self.explored:
                self.explored = True
                return Decision(RunCommand(plan.explore), thought=thought)
            return Decision(self.pending.popleft(), thought=thought)
        if not final:
            return None
        if self.layers:
            return self._finish(None)
        summary = "no applicable fault family broke a stably passing test"
        if self.tried:
            summary += f" (tried {', '.join(self.tried)})"
        return Decision(Finish("none", summary, ""), thought=summary)

    def _affordable(self, plan: FaultPlan) -> bool:
        budget = self.context.budget.max_steps
        return self.steps + len(plan.actions) + 2 <= budget

    def _abandon(self, why: str) -> Decision:
        """Undo the attempt (its repair, tolerant of errors): the loop drops its steps from the delta."""
        plan = self.plan
        self.plan, self.pending = None, deque()
        if not self.candidates and not self.deferred and not self.layers:
            return self._next_plan()
        undo = plan.repair.replace("set -e\n", "", 1)
        return Decision(RunCommand(undo, undoes_from=self.plan_start),
                        thought=f"{why}; undoing it before the next family")

    def _finish(self, last: Observation | None) -> Decision:
        layers = self.layers
        outer = layers[-1]
        count = self.seen[1]
        if len(layers) == 1:
            summary = f"{outer.summary} ({count} stably passing tests fail)"
            return Decision(Finish(outer.category, summary, outer.repair, fault_family=outer.family),
                            thought=f"{outer.family} broke {count} tests; finishing with its repair script")
        repair = "#!/bin/bash\nset -e\n" + "".join(
            f"# fault {i + 1}: {p.family}\n" + p.repair.split("set -e\n", 1)[-1]
            for i, p in reversed(list(enumerate(layers))))
        summary = "; then ".join(p.summary for p in layers) + f" ({count} stably passing tests fail)"
        info = tuple({"family": p.family, "category": p.category, "target": p.target, "summary": p.summary,
                      "repair": p.repair} for p in layers)
        families_ = "+".join(p.family for p in layers)
        return Decision(Finish(outer.category, summary, repair, fault_family=families_[:80], layers=info),
                        thought=f"{len(layers)} faults laid ({families_}); finishing with a repair of all of them")


BREAKS_ALL = {f.name for f in families() if f.breaks_all}


def _gist(message: str) -> str:
    """A failure message without addresses and numbers (they differ between runs)."""
    text = (message or "").strip()
    return re.sub(r"0x[0-9a-f]+|\d+", "#", text.splitlines()[-1] if text else "")


def _errors(output: str) -> set[str]:
    """The kinds of error a test run printed (`E   ModuleNotFoundError: No module named 'x'`)."""
    return {_gist(line) for line in output.splitlines() if re.search(r"\w(Error|Exception|Warning)\b", line)}


def _same_object(a: str, b: str) -> bool:
    """Both faults would rewrite one path or one SONAME link (a module name may carry two layers:
    a stub on top of a moved package)."""
    a, b = normalise(a), normalise(b)
    return a == b and not re.fullmatch(r"[A-Za-z_][\w.]*", a.replace(".so", "/"))


def _related(a: str, b: str) -> bool:
    """Two targets name the same thing (`sqlite3` and `libsqlite3.so.0`, a module and its package)."""
    a, b = normalise(a).lower(), normalise(b).lower()
    short, long_ = sorted((a.removeprefix("lib").split(".so")[0], b.removeprefix("lib").split(".so")[0]), key=len)
    return a == b or (len(short) >= 3 and short in long_)
