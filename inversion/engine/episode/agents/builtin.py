"""The built-in agent: breaks a gold environment offline, from the fault catalog, with no model.

It acts through the same interface as the LLM agent: a read-only look at its target, the fault's
actions one per step (the loop runs the tests after each mutating step), and, when no stably
passing test fails, an undo of that attempt and the next candidate family. Choices are seeded:
the first category rotates with the seed so a batch spreads across categories.
"""

from __future__ import annotations

import random
import re
from collections import deque
from typing import Any

from inversion.engine.episode.actions import Finish, RunCommand, RunTests
from inversion.engine.episode.agents.base import Agent, AgentContext, Decision, Observation
from inversion.engine.episode.faults import FaultFamily, FaultPlan, PlanContext, families

ROOT_SHADOW = {"stdlib_shadow_testbed", "site_module_stub"}  # rely on `python -m` putting cwd first
# Categories with a family that applies to nearly any gold: rotated in after the ones this gold
# offers specifically, so a batch over several golds covers more categories.
BROAD_CATEGORIES = {"config", "interpreter", "startup_hooks", "module_shadowing"}


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
        fams = [f for f in families() if f.applicable(surface, baseline)]
        if not context.test_cmd.strip().startswith("python -m"):
            fams = [f for f in fams if f.name not in ROOT_SHADOW]
        self.candidates = deque(candidate_order(fams, seed=seed, directions=context.directions,
                                                used_themes=context.used_themes))
        self.plan_ctx = PlanContext(surface, baseline)
        self.plan: FaultPlan | None = None
        self.pending: deque = deque()
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
            if last.kind == "tests" and last.payload.get("newly_failing") and not self.pending:
                return self._finish(last)
            if failed and self.pending:
                return self._abandon(f"a step of {self.plan.family} failed (exit {last.payload.get('exit_code')})")
        if self.plan is not None and self.pending:
            action = self.pending.popleft()
            return Decision(action, thought=f"{self.plan.family}: step toward {self.plan.target}")
        if self.plan is not None:
            if last is None or last.kind != "tests":
                return Decision(RunTests(), thought="check whether any stably passing test fails now")
            return self._abandon(f"{self.plan.family} broke no stably passing test")
        return self._next_plan()

    def _next_plan(self) -> Decision:
        while self.candidates:
            fam = self.candidates.popleft()
            try:
                plan = fam.plan(self.plan_ctx, self.rng)
            except (KeyError, IndexError, ValueError):
                continue
            if not self._affordable(plan):
                continue
            self.plan, self.pending = plan, deque(plan.actions)
            self.tried.append(plan.family)
            thought = f"trying {plan.family} ({plan.category}) on {plan.target}: {fam.description}"
            if plan.explore and not self.explored:
                self.explored = True
                return Decision(RunCommand(plan.explore), thought=thought)
            action = self.pending.popleft()
            return Decision(action, thought=thought)
        summary = "no applicable fault family broke a stably passing test"
        if self.tried:
            summary += f" (tried {', '.join(self.tried)})"
        return Decision(Finish("none", summary, ""), thought=summary)

    def _affordable(self, plan: FaultPlan) -> bool:
        budget = self.context.budget.max_steps
        return self.steps + len(plan.actions) + 2 <= budget

    def _abandon(self, why: str) -> Decision:
        """Undo the attempt (its repair, tolerant of errors) so the next family starts clean."""
        plan = self.plan
        self.plan, self.pending = None, deque()
        if not self.candidates:
            return self._next_plan()
        undo = plan.repair.replace("set -e\n", "", 1)
        return Decision(RunCommand(undo), thought=f"{why}; undoing it before the next family")

    def _finish(self, last: Observation) -> Decision:
        plan = self.plan
        count = last.payload.get("newly_failing_total") or len(last.payload.get("newly_failing") or [])
        summary = f"{plan.summary} ({count} stably passing tests fail)"
        return Decision(Finish(plan.category, summary, plan.repair, fault_family=plan.family),
                        thought=f"{plan.family} broke {count} tests; finishing with its repair script")
