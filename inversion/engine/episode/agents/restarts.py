"""How a compound episode of the built-in agent starts over when its layers stop fitting: a lone first
layer is undone and the batch goes on from the next first layer (`_lone_repeat`); a second layer no
third showed on is swapped for another left beside it (`_swap`), and laid again if none other shows
(`_relay`). docs/architecture.md has the measurements behind each."""

from __future__ import annotations

from collections import deque
from typing import Any

from inversion.engine.episode.agents.base import AgentContext, Decision
from inversion.engine.episode.agents.guard import Guard
from inversion.engine.episode.agents.observations import Seen
from inversion.engine.episode.faults import FaultPlan
from inversion.engine.episode.signature import normalise

SWAPS = 2  # second layers dropped per episode for want of a third
SWAP_ROOM = 12  # steps a swap needs left: the undo, then two layers of a few steps and their tests


class Restarts:
    """Mixed into the built-in agent: reads its state and calls its `_abandon`, `_start` and `_affordable`."""

    context: AgentContext
    guard: Guard
    layers: list[FaultPlan]
    plan: FaultPlan | None
    fallback: FaultPlan | None
    depth: dict[str, int]
    wanted: int
    whole: int
    steps: int
    settle: bool
    skipped: list[str]
    swapped: set[str]
    candidates: deque
    deferred: deque
    first: tuple[int, deque]
    second: tuple
    seen: Any
    plan_start: int

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
        why = "fails every test" if self.whole else "alone repeats a task this gold has"
        if not self.whole:
            self.skipped.append(family)
        self.whole = 0
        self.plan_start, candidates = self.first
        self.candidates, self.deferred, self.seen = candidates, deque(), Seen()
        self.fallback = None
        return self._abandon(f"no further layer fits, and {self.plan.family} {why}", lone=True)

    def _swap(self) -> Decision | None:
        """No third layer shows on the two laid: drop the second for another plan that was left beside
        it (markupsafe `--faults 3`: 10 of 19 episodes ended with two layers), once `THIRD_TRIES` failed
        or none is left, at most `SWAPS` times, while the budget has room for two more layers. The
        dropped one is laid again if no other second layer shows (`_relay`)."""
        if self.wanted < 3 or len(self.layers) != 2 or self.whole or self.settle or len(self.swapped) >= SWAPS:
            return None
        start, beside, below = self.second
        second = self.layers[1].family
        pool = deque(p for p in beside if p.family not in self.swapped | {second})
        if not pool or self.steps + SWAP_ROOM > self.context.budget.max_steps:
            return None
        self.plan = self.fallback = self.layers.pop()
        self.swapped.add(second)
        self.plan_start, self.candidates, self.deferred = start, deque(), pool
        self.seen = below
        return self._abandon(f"no third layer shows on {self.layers[0].family} + {second}, "
                             "so another second layer is tried")

    def _relay(self) -> Decision | None:
        """No other second layer showed after a swap: lay the dropped one again (it showed) and finish."""
        plan = self.fallback
        if len(self.layers) != 1 or plan is None or not self._affordable(plan):
            return None
        self.fallback, self.settle = None, True
        return self._start(plan, f"laying {plan.family} again on {plan.target} (fault 2 of {self.wanted}): "
                                 "no other second layer showed")
