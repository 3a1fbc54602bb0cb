"""The measured-difficulty rule and pass@k."""

from __future__ import annotations

import pytest

from tasks.engine.difficulty import SolverScore, measure, pass_at_k

WEAK_1_2 = SolverScore("terminus-2:openai/qwen2.5-coder-1.5b", "weak", 2, 1)
WEAK_0_2 = SolverScore("terminus-2:openai/qwen2.5-coder-0.5b", "weak", 2, 0)
STRONG_2_2 = SolverScore("terminus-2:openai/gpt-x", "strong", 2, 2)
STRONG_1_4 = SolverScore("terminus-2:openai/gpt-x", "strong", 4, 1)
STRONG_0_2 = SolverScore("terminus-2:openai/gpt-x", "strong", 2, 0)


@pytest.mark.parametrize(
    ("scores", "level"),
    [
        ([], ""),  # no solver ran: not measured (the estimate stays)
        ([WEAK_1_2, STRONG_0_2], "easy"),  # a weak solver solved it once
        ([WEAK_0_2, STRONG_2_2], "medium"),  # only the strong one, in most trials
        ([WEAK_0_2, STRONG_1_4], "hard"),  # only the strong one, rarely
        ([WEAK_0_2, STRONG_0_2], "unsolved"),  # nobody in k attempts
        ([WEAK_0_2], "unsolved"),
    ],
)
def test_rule(scores, level):
    assert measure(scores)[0] == level


def test_measured_by_names_every_solver_with_its_score():
    assert measure([STRONG_2_2, WEAK_0_2])[1] == [
        "terminus-2:openai/gpt-x (strong) 2/2",
        "terminus-2:openai/qwen2.5-coder-0.5b (weak) 0/2",
    ]


def test_pass_at_k():
    assert pass_at_k(2, 0, 2) == 0.0
    assert pass_at_k(2, 1, 1) == 0.5
    assert pass_at_k(2, 1, 2) == 1.0
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(0, 0, 1) == 0.0
