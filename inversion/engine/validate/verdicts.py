"""What validation produces and the pure judgements it makes: the records of each rule's runs
(`RuleRun`, `Validation`), what a validation is asked to check (`ValidationSpec`), and the rules
that are plain functions over test outcomes (`judge_selection`, `judge_oracle`), so each is tested
without Docker. Plain Python, no Django."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inversion.engine.runtime import testrun
from inversion.engine.runtime.sandbox import Limits
from inversion.engine.validate.hacks import Hack


@dataclass
class RuleRun:
    rule: str
    index: int
    ok: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0


@dataclass
class Validation:
    ok: bool = False
    failed_rule: str = ""
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[RuleRun] = field(default_factory=list)
    f2p: list[str] = field(default_factory=list)
    p2p: list[str] = field(default_factory=list)
    excerpts: dict[str, str] = field(default_factory=dict)
    oracle_missing: bool = False
    image: str = ""
    gold_integrity: dict[str, Any] = field(default_factory=dict)  # collected now when the gold had none
    integrity: dict[str, Any] = field(default_factory=dict)  # the task's part of the verifier's manifest
    hacks: list[dict[str, Any]] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)  # what the replayed delta changed (leaves)
    signature: dict[str, Any] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)  # rule 8: one result per fault

    def record(self, rule: str, ok: bool | None, detail: str) -> None:
        self.rules[rule] = {"ok": ok, "detail": detail}
        if ok is False and not self.failed_rule:
            self.failed_rule = rule


@dataclass
class ValidationSpec:
    gold_image: str
    baseline: dict[str, Any]
    delta: list[dict[str, Any]]
    repair_script: str = ""
    test_cmd: str = testrun.DEFAULT_TEST_CMD
    instance: str = "default"
    owner: str = ""
    runs: int = 2
    limits: Limits = field(default_factory=Limits)
    test_timeout: float = 600.0
    step_timeout: float = 120.0
    gold_integrity: dict[str, Any] = field(default_factory=dict)
    hacks: list[Hack] = field(default_factory=list)
    worker: str = ""  # the worker process validating (container and image label for the sweeper)
    layers: list[dict[str, Any]] = field(default_factory=list)  # {family, category, target, repair} per fault
    category: str = ""
    known_signatures: dict[str, str] = field(default_factory=dict)  # key -> the task that has it
    network: str = "none"  # the replay's network: "host" for episodes the curator let reach the index


def judge_selection(f2p: list[str], p2p: list[str], outcomes: dict[str, str]) -> tuple[bool, str, bool, str]:
    """(nop ok, detail, p2p ok, detail) from a graded run on the untouched broken image: it must not
    pass, and every P2P test must pass in it as in the earlier broken runs (else the grade flips)."""
    bad = [t for t in f2p + p2p if outcomes.get(t) != testrun.PASSED]
    nop = (bool(bad), f"graded run on the untouched broken image: {len(bad)} of {len(f2p) + len(p2p)} tests fail")
    broken_p2p = [t for t in p2p if outcomes.get(t) != testrun.PASSED]
    if broken_p2p:
        shown = ", ".join(broken_p2p[:5]) + (" ..." if len(broken_p2p) > 5 else "")
        return (*nop, False, f"{len(broken_p2p)} P2P tests passed in the broken runs but not in the graded run "
                             f"(their outcome is not stable): {shown}")
    return (*nop, True, f"{len(p2p)} tests pass in gold, in every broken run and in the graded run")


def judge_oracle(outcomes: dict[str, str], repair_exit: int | None) -> tuple[bool, str]:
    """The repair script must succeed (exit 0) and leave every graded test passing."""
    bad = sum(1 for o in outcomes.values() if o != testrun.PASSED)
    if repair_exit != 0:
        return False, f"the repair script exited with {repair_exit}; after it {bad} of {len(outcomes)} tests fail"
    return bad == 0, f"after the repair script: {bad} of {len(outcomes)} tests fail"
