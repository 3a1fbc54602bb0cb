"""The built-in agent: breaks a gold environment offline, from the fault catalog, with no model.

It acts through the same interface as the LLM agent: a read-only look at its target, the fault's
actions one per step (the loop runs the tests after each mutating step), and, when no stably
passing test fails, an undo of that attempt (dropped from the delta) and the next candidate family.
Choices are seeded: least-used families first (counts over this gold's tasks, `guard.Guard`), and
among equally used ones the first category rotates with the seed so a batch spreads across
categories. A family this gold already has (made, awaiting validation or claimed by a running
episode) is never laid again, whatever its target: with no unused plan left the agent finishes with
outcome none ("no unused fault left for this gold"). A failed step (non-zero exit) abandons its plan
(the undo drops what it wrote); a failed multi-step variant is tried again later as a plain plan.

Compound breaks (`faults` > 1): layers come from the multi-step variants of the families
(`FaultFamily.deep_plan`: each step its own RUN line), the first from the least-used family (those
that began an earlier compound episode here and found no further layer last: `Guard.lone`); the next
from another category, least-used first, then preferring the same target (a stub on top of a moved
package) unless both rewrite it in place (`FaultFamily.layering`: *every layer matters* would refuse
it), and last of all damage in place behind a layer that hides that target (`targets.aim_rank`: the
module never loads, so nothing changes). A layer counts only if it changes what fails. The repair
undoes the layers outermost first.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from inversion.engine.episode.actions import Finish, RunCommand, RunTests
from inversion.engine.episode.agents.base import Agent, AgentContext, Decision, Observation
from inversion.engine.episode.agents.guard import NO_UNUSED, WHOLE_SHARE, Guard
from inversion.engine.episode.agents.observations import error_kinds, exit_code, gist
from inversion.engine.episode.agents.ordering import order_key
from inversion.engine.episode.agents.targets import aim_rank, related, same_object
from inversion.engine.episode.faults import FaultFamily, FaultPlan, PlanContext, families
from inversion.engine.episode.signature import normalise

ROOT_SHADOW = {"stdlib_shadow_testbed", "site_module_stub"}  # rely on `python -m` putting cwd first
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
        self.guard = Guard(context.used_signatures or [])
        self.guard.kin.update((f.name, f.kin or f.category) for f in fams)
        self.guard.dead.update(context.dead_ends or {})
        self.guard.lone.update(context.lone_layers or {})
        self.plan_ctx = PlanContext(surface, baseline, network=context.network)
        self.depth = {f.name: _depth(f, self.plan_ctx, seed) for f in fams} if context.faults > 1 else {}
        self.order_key = order_key(fams, seed=seed, directions=context.directions,
                                   used_themes=context.used_themes, guard=self.guard, depth=self.depth)
        self.fams = fams
        self.candidates = deque(self._sorted(fams))
        self.deferred: deque[FaultPlan] = deque()  # plans kept for a later layer
        self.skipped: list[str] = []  # families this gold already has
        self.short: list[str] = []  # families left untried: too few steps left in the budget
        self.capped: list[str] = []  # families that failed every test where the gold has its share of those
        self.wanted = max(1, min(3, int(context.faults or 1)))
        self.plan: FaultPlan | None = None
        self.pending: deque = deque()
        self.layers: list[FaultPlan] = []
        self.seen: tuple[set[str], int, dict[str, str], set[str]] = (set(), 0, {}, set())
        self.plan_start = 0
        self.inert: set[str] = set()  # targets whose breakage changed no test here: skip them for good
        self.steps = 0
        self.explored = self.looking = False
        self.whole = 0  # the first layer fails every test: 1 + the layers tried on top of it
        self.tried: list[str] = []
        self.again: set[str] = set()  # families given a second try on another target
        self.flat: set[str] = set()  # families whose multi-step variant failed a step here: plain plans
        self.hides = False  # the last layer tried made every test fail where the ones below did not

    def next_action(self, last: Observation | None) -> Decision:
        self.steps += 1
        return self._decide(last)

    # ---- decisions -------------------------------------------------------------------------

    def _decide(self, last: Observation | None) -> Decision:
        looked, self.looking = self.looking, False
        if self.plan is not None and last is not None:
            code = None if looked else exit_code(last)  # a read-only look may fail (no such dir)
            if code not in (0, None):  # even if the step wrote files (and the tests ran after it)
                if len(self.plan.actions) > 1 and self.wanted > 1:  # a deeper variant may not fit: plain, later
                    self.flat.add(self.plan.family)
                    self._again(self.plan.family)
                return self._abandon(f"a step of {self.plan.family} failed (exit {code})", dead=self.wanted == 1)
            if last.kind == "tests" and not self.pending and self._visible(last):
                return self._confirm(last)
        if self.plan is not None and self.pending:
            action = self.pending.popleft()
            return Decision(action, thought=f"{self.plan.family}: step toward {self.plan.target}")
        if self.plan is not None:
            if last is None or last.kind != "tests":
                return Decision(RunTests(), thought="check whether any stably passing test fails now")
            what = "changed nothing that fails" if self.layers else "broke no stably passing test"
            if self.hides:
                what, self.hides = "would fail every test and hide the faults below it", False
            if not self.layers:
                self.inert.add(normalise(self.plan.target))
                self._again(self.plan.family)
            # a first layer that broke nothing is a dead end whatever was asked (compound episodes of
            # a toolz batch spent 20 of their 60 steps re-laying three such families each)
            return self._abandon(f"{self.plan.family} {what}", dead=not self.layers)
        return self._next_plan()

    def _again(self, name: str) -> None:
        """One more try, after every other family: on a target not yet found inert (`certifi`, which
        no test needs, says nothing about the others), or as a plain plan (`flat`)."""
        fam = next((f for f in self.fams if f.name == name), None)
        if fam is not None and name not in self.again:
            self.again.add(name)
            self.candidates.append(fam)

    def _visible(self, last: Observation) -> bool:
        """The fault shows: a test fails (first fault), or, on top of earlier ones, more tests fail
        or a failing test now fails with another message, but not every test where some passed
        (fixing that layer first would be the whole diagnosis, and the task's F2P the whole suite)."""
        newly = set(last.payload.get("newly_failing") or [])
        if not self.layers:
            return bool(newly)
        before, total, messages, errors = self.seen
        if self._whole_suite(last) and not self._covers(total):  # it would only hide the layers below
            self.hides = True
            return False
        if (last.payload.get("newly_failing_total") or len(newly)) > total or newly - before:
            return True
        now = last.payload.get("messages") or {}
        if any(t in messages and gist(now[t]) != gist(messages[t]) for t in now):
            return True
        # tests that no longer collect have no message of their own: compare the run's error lines
        return bool(error_kinds(last.payload.get("output_tail") or "") - errors)

    def _confirm(self, last: Observation) -> Decision:
        if not self.layers and self.wanted == 1 and self._whole_suite(last) and self._whole_full():
            self.capped.append(self.plan.family)
            self.inert.add(normalise(self.plan.target))  # another target may leave some tests passing
            self._again(self.plan.family)
            return self._abandon(f"{self.plan.family} fails every test, and this gold has its share of such tasks")
        if not self.layers:  # where to start again if no further layer fits (`_lone_repeat`)
            self.first = (self.plan_start, deque(self.candidates))
            # every test fails: only a fault that changes the error lines can show (tried twice, `_pop`)
            self.whole = int(self.wanted > 1 and self._whole_suite(last))
        self.layers.append(self.plan)
        newly = set(last.payload.get("newly_failing") or [])
        self.seen = (newly, last.payload.get("newly_failing_total") or len(newly), dict(last.payload.get("messages") or {}),
                     error_kinds(last.payload.get("output_tail") or ""))
        if len(self.layers) < self.wanted:
            self.plan, self.pending = None, deque()
            decision = self._next_plan(final=False) or self._lone_repeat()
            if decision is not None:
                return decision
        return self._finish(last)

    def _whole_suite(self, last: Observation) -> bool:
        return self._covers(last.payload.get("newly_failing_total") or len(last.payload.get("newly_failing") or []))

    def _whole_full(self) -> bool:
        return self._share() < 1 and self.guard.whole_full(self._stable(), self._share())

    def _share(self) -> float:
        share = self.context.whole_share
        return WHOLE_SHARE if share is None else float(share)

    def _stable(self) -> int:
        baseline = self.context.baseline or {}
        return baseline.get("stable_total") or len(baseline.get("stable_passing") or [])

    def _covers(self, failing: int) -> bool:
        """`failing` newly failing tests are every stably passing one."""
        stable = self._stable()
        return bool(stable) and failing >= stable

    def _lone_repeat(self) -> Decision | None:
        """A compound break that found no further layer is a single fault: where this gold has that
        family already (never a duplicate), or where it fails every test (a compound is still
        possible from another first layer), undo it and start again from the next first layer."""
        if len(self.layers) != 1 or self.wanted == 1:
            return None
        family = self.layers[0].family
        aimed = {family: normalise(self.layers[0].target)}
        if not (self.whole or self.guard.taken([family]) or self.guard.near([family], self.depth, targets=aimed)):
            return None
        self.plan = self.layers.pop()
        if not self.whole:
            self.skipped.append(family)
        self.whole = 0
        self.plan_start, candidates = self.first
        self.candidates, self.deferred, self.seen = candidates, deque(), (set(), 0, {}, set())
        return self._abandon(f"no further layer fits, and {self.plan.family} alone repeats a task this gold has",
                             lone=True)

    def _sorted(self, fams) -> list[FaultFamily]:
        out = sorted(fams, key=self.order_key)
        if self.context.faults > 1:  # nothing laid under a fault that stops every test from running can show
            # and a first layer no further layer fitted on here before (`Guard.lone`: the pairs left
            # were made, or none showed) likely finds none again: a cachetools episode spent its whole
            # budget laying, then undoing, three such first layers (about ten steps each)
            out.sort(key=lambda f: (f.breaks_all, self.guard.lone[f.name] > 0))
        return out

    def _refresh(self) -> None:
        """Take in what other episodes of this gold made or claimed meanwhile; re-sort if it grew."""
        fetch = self.context.used_now
        if fetch is None:
            return
        try:
            grew = self.guard.add(fetch())
        except Exception:  # the guard's refresh is best effort; validation still refuses a duplicate
            return
        if grew:
            self.candidates = deque(self._sorted(self.candidates))

    def _fresh(self, fam: FaultFamily) -> FaultPlan | None:
        """A plan of `fam` (its multi-step variant for a compound break), a few seeded tries, never
        on a target whose breakage already changed nothing here (breaking libssl outright broke no
        test: a stale linker cache for it will not either), nor where a sibling family of its category
        already aimed here (the touched paths would nearly repeat that task)."""
        for _ in range(4):
            try:
                deep = self.wanted > 1 and fam.name not in self.flat
                plan = (fam.deep_plan(self.plan_ctx, self.rng) if deep else None) or fam.plan(self.plan_ctx, self.rng)
            except (KeyError, IndexError, ValueError):
                return None
            if any(related(plan.target, t) for t in self.inert):
                continue
            if not self.guard.aimed_alike(plan.family, plan.category, normalise(plan.target)):
                return plan
        return None

    def _fits(self, plan: FaultPlan) -> bool:
        """Another layer: a new category and family; on the same file, library or module as an earlier
        layer only if not both rewrite it in place (the second would undo or overwrite the first);
        and not a set of families this gold already has."""
        if any(plan.category == la.category or plan.family == la.family for la in self.layers):
            return False
        in_place = LAYERING.get(plan.family) == "in_place"
        for a, la in ((a, la) for la in self.layers for a in plan.objects or (plan.target,)):
            for b in la.objects or (la.target,):  # every module each rewrites (json beside its target)
                if same_object(a, b) or (in_place and LAYERING.get(la.family) == "in_place" and related(a, b)):
                    return False
        fams = [*(la.family for la in self.layers), plan.family]
        aimed = {p.family: normalise(p.target) for p in (*self.layers, plan)}
        return not (self.guard.taken(fams) or self.guard.near(fams, self.depth, targets=aimed))

    def _pop(self) -> FaultPlan | None:
        """The next plan: the least-used family this gold does not have yet; for a later layer, one
        that fits and is no dead end here, least-used first, then aimed at an earlier layer's target
        where possible, never one that breaks everything unless the first one already does (`_visible`
        also refuses a layer that turns a partial failure into a whole-suite one)."""
        self._refresh()
        if self.layers:
            pool = [p for p in (self._fresh(f) for f in self.candidates) if p is not None]
            pool += [p for p in self.deferred if not any(related(p.target, t) for t in self.inert)]
            self.candidates.clear()
            # a family that broke nothing here alone, or that validation found to add nothing as a
            # layer, fails *every layer matters* (jmespath: 7 of 20 episodes, a warnings policy on top)
            fit = [p for p in pool if self._fits(p) and not self.guard.dead[p.family]]
            if not self.whole:  # where some tests still pass, a fault that stops every test only hides the rest
                fit = [p for p in fit if p.family not in BREAKS_ALL]
            if self.whole:  # under a fault that fails every test few can show: two tries, then start over
                self.whole += 1
                fit = fit if self.whole <= WHOLE_TRIES + 1 else []
            fit.sort(key=lambda p: (p.family in BREAKS_ALL, self.guard.rank(p.family, p.category)[0],
                                    aim_rank(p, self.layers, LAYERING), -len(p.actions)))
            self.deferred = deque(p for p in pool if p not in fit[:1])
            return fit[0] if fit else None
        while self.candidates:
            fam = self.candidates.popleft()
            lone = self.guard.taken([fam.name]) or (self.wanted > 1 and self.guard.near([fam.name], self.depth))
            if lone and (self.wanted == 1 or not self._pairs_left(fam)):
                self.skipped.append(fam.name)  # made here (any target), alone and with every partner
                continue
            if self.wanted == 1 and fam.breaks_all and self._whole_full():
                self.capped.append(fam.name)
                continue
            plan = self._fresh(fam)
            if plan is not None:
                return plan
        return None

    def _pairs_left(self, fam: FaultFamily) -> bool:
        """Whether a family the next layer would still be drawn from (the candidates left, the plans
        kept for later) could make a new set with `fam`: another category, not one that stops every
        test (unless `fam` does) nor one that broke nothing here alone (`Guard.dead`: on toolz such
        families never showed on top of another either), not a set made here or near one. Asking all
        applicable families laid, then undid, first layers whose partners were spent (toolz, late in
        a 2-fault batch: five first layers of 4-6 steps each, until the budget ran out)."""
        partners = {o.name: o.category for o in self.candidates}
        partners.update((p.family, p.category) for p in self.deferred)
        return any(cat != fam.category and name != fam.name and (fam.breaks_all or name not in BREAKS_ALL)
                   and not self.guard.dead[name]
                   and not self.guard.taken([fam.name, name]) and not self.guard.near([fam.name, name], self.depth)
                   for name, cat in partners.items())

    def _next_plan(self, final: bool = True) -> Decision | None:
        while True:
            plan = self._pop()
            if plan is None:
                break
            if not self._affordable(plan):
                self.short.append(plan.family)
                continue
            self.plan, self.pending = plan, deque(plan.actions)
            self.plan_start = self.steps
            self.tried.append(plan.family)
            fam_note = f" (fault {len(self.layers) + 1} of {self.wanted})" if self.wanted > 1 else ""
            thought = f"trying {plan.family} ({plan.category}) on {plan.target}{fam_note}: {plan.summary}"
            claim = {"layers": [{"kind": p.family, "category": p.category, "target": normalise(p.target)}
                                for p in [*self.layers, plan]]}
            if plan.explore and not self.explored:
                self.explored = self.looking = True
                return Decision(RunCommand(plan.explore), thought=thought, claim=claim)
            return Decision(self.pending.popleft(), thought=thought, claim=claim)
        if not final:
            return None
        if self.layers:
            return self._lone_repeat() or self._finish(None)
        if self.short:
            why = f"the step budget ran out before {', '.join(self.short)} could be tried"
            return Decision(Finish("none", why, ""), thought=why)
        if self.capped:  # the rest fail every test, and this gold has its share of such tasks
            why = (f"only faults that fail every test were left ({', '.join(self.capped)}), and this gold "
                   f"has its share of such tasks (at most {self._share():.0%})")
            return Decision(Finish("none", why, ""), thought=why)
        if self.skipped:  # every family left is one this gold has: never lay a duplicate
            why = f"{NO_UNUSED} (already made here: {', '.join(self.skipped)}"
            why += f"; tried {', '.join(self.tried)})" if self.tried else ")"
            return Decision(Finish("none", NO_UNUSED, ""), thought=why)
        summary = "no applicable fault family broke a stably passing test"
        if self.tried:
            summary += f" (tried {', '.join(self.tried)})"
        return Decision(Finish("none", summary, ""), thought=summary)

    def _affordable(self, plan: FaultPlan) -> bool:
        budget = self.context.budget.max_steps
        return self.steps + len(plan.actions) + 2 <= budget

    def _abandon(self, why: str, dead: bool = False, lone: bool = False) -> Decision:
        """Undo the attempt (its repair, tolerant of errors): the loop drops its steps from the delta.
        `dead`: a single fault that broke nothing or failed a step (later episodes try it last);
        `lone`: a first layer no further layer fitted on (later compound episodes start from it last)."""
        plan = self.plan
        self.plan, self.pending = None, deque()
        undo = plan.repair.replace("set -e\n", "", 1)
        return Decision(RunCommand(undo, undoes_from=self.plan_start),
                        thought=f"{why}; undoing it before the next family", dead_end=plan.family if dead else "",
                        lone=plan.family if lone else "")

    def _finish(self, last: Observation | None) -> Decision:
        layers = self.layers
        outer = layers[-1]
        count = self.seen[1]
        if len(layers) == 1:
            summary = f"{outer.summary} ({count} stably passing tests fail)"
            info = ({"family": outer.family, "category": outer.category, "target": outer.target,
                     "summary": outer.summary, "repair": outer.repair},)  # the target, for the signature
            return Decision(Finish(outer.category, summary, outer.repair, fault_family=outer.family, layers=info),
                            thought=f"{outer.family} broke {count} tests; finishing with its repair script")
        repair = "#!/bin/bash\nset -e\n" + "".join(
            f"# fault {i + 1}: {p.family}\n" + "".join(line + "\n" for line in p.repair_lines)
            for i, p in reversed(list(enumerate(layers))))
        summary = "; then ".join(p.summary for p in layers) + f" ({count} stably passing tests fail)"
        info = tuple({"family": p.family, "category": p.category, "target": p.target, "summary": p.summary,
                      "repair": p.repair} for p in layers)
        families_ = "+".join(p.family for p in layers)
        return Decision(Finish(outer.category, summary, repair, fault_family=families_[:80], layers=info),
                        thought=f"{len(layers)} faults laid ({families_}); finishing with a repair of all of them")


BREAKS_ALL = {f.name for f in families() if f.breaks_all}
WHOLE_TRIES = 2
LAYERING = {f.name: f.layering for f in families()}


def _depth(fam: FaultFamily, ctx: PlanContext, seed: int) -> int:
    """Steps of the family's multi-step variant (1 without one, or when it cannot plan here)."""
    try:
        plan = fam.deep_plan(ctx, random.Random(seed))
    except (KeyError, IndexError, ValueError):
        return 1
    return len(plan.actions) if plan is not None else 1

