"""How every stage grades a test run: the command, the stably passing set, one test's outcome.

Episodes, validation and exported verifiers must agree by construction, so they share these.
"""

from __future__ import annotations

from typing import Any

from inversion.engine.runtime import testrun


def grading_cmd(test_cmd: str) -> str:
    """Keep going past a module that no longer imports, so the other modules' tests still count."""
    if "pytest" in test_cmd and "--continue-on-collection-errors" not in test_cmd:
        return f"{test_cmd} --continue-on-collection-errors"
    return test_cmd


def stable_passing(baseline: dict[str, Any]) -> list[str]:
    flaky = set(baseline.get("flaky", []))
    ids = baseline.get("stable_passing")
    if ids is None:
        ids = [t for t, o in baseline.get("tests", {}).items() if o.get("outcome") == testrun.PASSED]
    return [t for t in ids if t not in flaky]


def outcome_of(run: testrun.TestRun, test_id: str) -> str:
    """A test missing from the results (its module no longer collects) counts as an error."""
    o = run.outcomes.get(test_id)
    return o.outcome if o else testrun.ERROR
