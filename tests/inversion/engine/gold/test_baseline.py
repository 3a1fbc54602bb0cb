"""Baseline summaries without Docker: flaky detection across runs and the failed-gold reason."""

from __future__ import annotations

from inversion.engine.gold.baseline import failure_reason, summarize_runs
from inversion.engine.runtime.testrun import TestOutcome, TestRun


def _run(**outcomes: str) -> TestRun:
    return TestRun(outcomes={k: TestOutcome(k, v, 0.1) for k, v in outcomes.items()}, exit_code=1, seconds=1.0)


def test_a_test_whose_outcome_differs_or_that_goes_missing_is_flaky():
    baseline = summarize_runs([_run(a="passed", b="passed", c="failed"), _run(a="passed", b="failed")])
    assert baseline["flaky"] == ["b", "c"]
    assert baseline["tests"]["c"]["outcomes"] == ["failed", "missing"]
    assert baseline["stable_passing"] == ["a"]
    assert baseline["counts"] == {"passed": 1, "failed": 0, "error": 0, "skipped": 0, "flaky": 2, "order_dependent": 0, "total": 3}


def test_failure_reason_names_the_commonest_error():
    message = "ImportError while importing test module\nE   ModuleNotFoundError: No module named 'hypothesis'"
    tests = {f"t{i}": {"outcome": "error", "message": message, "duration": 0} for i in range(36)}
    tests["t36"] = {"outcome": "failed", "message": "E   EOFError: stream ended", "duration": 0}
    baseline = {"tests": tests, "counts": {"total": 37}, "stable_passing": []}
    assert failure_reason(baseline, 1) == "0 of 37 tests pass: ModuleNotFoundError: No module named 'hypothesis'"
    tests["t36"]["outcome"] = "passed"
    assert failure_reason({**baseline, "stable_passing": ["t36"]}, 1) == ""


def test_no_tests_ran_names_pytests_usage_error_not_its_usage_line():
    # what `python -m pytest --timeout=5` prints when the plugin that adds --timeout is missing
    output = ("ERROR: usage: __main__.py [options] [file_or_dir] [file_or_dir] [...]\n"
              "__main__.py: error: unrecognized arguments: --timeout=5\n  inifile: /testbed/setup.cfg\n"
              "  rootdir: /testbed\n")
    for prog in ("__main__.py", "python -m pytest"):  # pytest 8 names itself one way, pytest 9 the other
        baseline = {"counts": {"total": 0}, "stable_passing": [],
                    "runs": [{"error": f"pytest wrote no results (exit 4): {output.replace('__main__.py', prog)}"}]}
        assert failure_reason(baseline, 1) == f"no tests ran: {prog}: error: unrecognized arguments: --timeout=5"
