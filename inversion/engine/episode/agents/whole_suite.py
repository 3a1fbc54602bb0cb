"""What the built-in agent asks about breaks that fail every test: CLI-Gym's tasks break a part of
the suite, which is what makes a diagnosis interesting, so a gold's share of such tasks is capped
(`Guard.whole_full`) and a layer that would fail every test above a partial failure is refused."""

from __future__ import annotations

from inversion.engine.episode.agents.base import AgentContext, Observation
from inversion.engine.episode.agents.guard import WHOLE_SHARE, Guard


class WholeSuite:
    """Mixed into the built-in agent: needs its `context` and `guard`."""

    context: AgentContext
    guard: Guard

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
