"""Measured difficulty: a rule over the pass rates of the solvers run so far, and pass@k.

A *solver* is an agent with a model and a declared strength (weak: small/local models; strong:
frontier models). Harbor's `oracle` and `nop` are reference agents, never solvers. The rule, per task:
- solved at least once by a weak solver            -> easy
- else a strong solver passes >= half its trials   -> medium
- else a strong solver passed at least once        -> hard
- else no solver passed in any of its k attempts   -> unsolved (flagged for review)
- no solver ran yet                                -> "" (not measured: the estimate stays, labelled so)
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

EASY, MEDIUM, HARD, UNSOLVED = "easy", "medium", "hard", "unsolved"
LEVELS = (EASY, MEDIUM, HARD, UNSOLVED)
WEAK, STRONG = "weak", "strong"


@dataclass(frozen=True)
class SolverScore:
    """One solver's trials on one task."""

    solver: str  # "agent:model"
    strength: str  # weak | strong
    trials: int
    passed: int

    @property
    def rate(self) -> float:
        return self.passed / self.trials if self.trials else 0.0

    def label(self) -> str:
        return f"{self.solver} ({self.strength}) {self.passed}/{self.trials}"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n trials with c passes (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if n <= 0 or k <= 0:
        return 0.0
    k = min(k, n)
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def measure(scores: list[SolverScore]) -> tuple[str, list[str]]:
    """(difficulty, the solvers it was measured by) from the solvers' scores on one task."""
    scores = [s for s in scores if s.trials > 0]
    if not scores:
        return "", []
    by = sorted(s.label() for s in scores)
    if any(s.strength == WEAK and s.passed for s in scores):
        return EASY, by
    strong = [s for s in scores if s.strength == STRONG]
    if any(s.rate >= 0.5 for s in strong):
        return MEDIUM, by
    if any(s.passed for s in strong):
        return HARD, by
    return UNSOLVED, by
