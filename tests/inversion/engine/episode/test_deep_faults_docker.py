"""Multi-step fault variants (compound layers) on a real container: each step is its own command,
the whole breaks a passing test and one repair heals it; and a step that fails after writing files
is undone by the built-in agent, so nothing of it reaches the delta."""

from __future__ import annotations

import random

import pytest

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.agents.base import AgentContext, Budget
from inversion.engine.episode.agents.builtin import BuiltinAgent
from inversion.engine.episode.faults import (
    FaultPlan,
    PlanContext,
    base,
    calls,
    families,
    family,
    stdlib,
    stdlib_tools,
)
from tests.inversion.engine.episode.test_faults_docker import (  # noqa: F401
    LAZY,
    _box,
    _break_and_heal,
    faults_image,
    gold,
)
from tests.support.faults_fixture import PASSING, SURFACE

# Families with a multi-step variant on the fixture's captured surface (the live one matches it).
DEEP = [f for f in families() if f.applicable(SURFACE, {}) and f.deep_plan(PlanContext(SURFACE, {}), random.Random(0))]


@pytest.mark.docker
@pytest.mark.parametrize("fam", DEEP, ids=lambda f: f.name)
def test_multi_step_variant_breaks_then_repair_heals(fam, gold, docker_client, faults_image):  # noqa: F811
    ctx = PlanContext(gold["surface"], {"stable_passing": gold["passing"]})
    plan = fam.deep_plan(ctx, random.Random(0))
    if plan.target == LAZY:
        plan = next(p for p in (fam.deep_plan(ctx, random.Random(s)) for s in range(20)) if p.target != LAZY)
    assert plan is not None and len(plan.actions) >= 2
    _break_and_heal(plan, gold["passing"], docker_client, faults_image, gold["manifest"])


@pytest.mark.docker
def test_stale_override_of_a_lone_module_lays_two_generations(gold, docker_client, faults_image, monkeypatch):  # noqa: F811
    """With one module to aim at, the multi-step variant shadows it twice (a half copy, and a
    sourceless placeholder that a second .pth puts first); one repair removes both."""
    monkeypatch.setattr(stdlib.PyStaleOverride, "singles", staticmethod(lambda surface: ["mimetypes"]))
    plan = stdlib.PyStaleOverride().deep_plan(PlanContext(gold["surface"], {"stable_passing": gold["passing"]}),
                                              random.Random(0))
    assert plan.target == "mimetypes" and len(plan.actions) == 4 and "site-legacy" in plan.summary
    _break_and_heal(plan, gold["passing"], docker_client, faults_image, gold["manifest"])


@pytest.mark.docker
def test_tab_indent_of_a_lone_module_hits_two_blocks(gold, docker_client, faults_image, monkeypatch):  # noqa: F811
    """With one module to aim at, the multi-step variant re-indents two of its blocks, one step each
    (the second reads its line numbers from the .orig: the file no longer parses); one move heals."""
    monkeypatch.setattr(stdlib, "py_files", lambda surface, init: [] if init else ["mimetypes"])
    plan = stdlib.PyTabIndent().deep_plan(PlanContext(gold["surface"], {"stable_passing": gold["passing"]}),
                                          random.Random(0))
    assert plan.target == "mimetypes" and len(plan.actions) == 2 and "two lines" in plan.summary
    _break_and_heal(plan, gold["passing"], docker_client, faults_image, gold["manifest"])


@pytest.mark.docker
def test_diversion_of_a_lone_module_adds_a_dangling_replacement_link(gold, docker_client, faults_image, monkeypatch):  # noqa: F811
    """With one module to aim at, the multi-step variant diverts it and links a replacement never
    installed in its place; dpkg refuses to remove the diversion while the link is there, so the
    repair removes the link first."""
    monkeypatch.setattr(stdlib_tools.DpkgDiverted, "targets", staticmethod(lambda surface: ["mimetypes"]))
    plan = stdlib_tools.DpkgDiverted().deep_plan(PlanContext(gold["surface"], {"stable_passing": gold["passing"]}),
                                                 random.Random(0))
    assert plan.target == "mimetypes" and len(plan.actions) == 2 and plan.actions[1].command.startswith("ln -s ")
    box, out = _box(docker_client, faults_image)
    try:
        for action in plan.actions:
            assert box.exec(action.command, timeout=60).exit_code == 0
        alone = box.exec(plan.repair_lines[-1], timeout=60)  # the diversion's removal without the link's
        assert alone.exit_code != 0 and "overwriting" in alone.output
    finally:
        box.remove()
        out.cleanup()
    _break_and_heal(plan, gold["passing"], docker_client, faults_image, gold["manifest"])


@pytest.mark.docker
def test_stale_cache_of_a_lone_module_adds_an_older_function_elsewhere(gold, docker_client, faults_image, monkeypatch):  # noqa: F811
    """With one stdlib module some files use, the multi-step variant stales it whole and one function
    in each of up to two other modules from the call map; one recompile heals all."""
    monkeypatch.setattr(stdlib.StdlibStaleBytecode, "targets", staticmethod(lambda surface: ["mimetypes"]))
    plan = stdlib.StdlibStaleBytecode().deep_plan(PlanContext(gold["surface"], {"stable_passing": gold["passing"]}),
                                                  random.Random(0))
    others = {r["module"] for r in calls.function_targets(gold["surface"], "stdlib")} - {"mimetypes"}
    assert plan is not None and plan.target == "mimetypes" and len(plan.actions) == 1 + min(2, len(others))
    assert "older body" in plan.summary
    _break_and_heal(plan, gold["passing"], docker_client, faults_image, gold["manifest"])


@pytest.mark.docker
@pytest.mark.parametrize("name", ["project_stale_bytecode", "project_leftover_package", "project_truncated_module"])
def test_a_later_step_with_no_module_left_changes_nothing_and_the_earlier_ones_stand(name, gold, docker_client, faults_image):  # noqa: F811
    """The fixture project has two modules: a four-step variant's last steps find none left, say so,
    exit 0 and change nothing (so they add no line to the delta); what the earlier ones broke heals."""
    ctx = PlanContext(gold["surface"], {"stable_passing": gold["passing"]})
    plan = family(name)._plan(ctx, random.Random(0), count=4)
    assert "up to 4" in plan.summary and len(plan.actions) == 4
    box, out = _box(docker_client, faults_image)
    try:
        outputs, diffs = [], []
        for action in plan.actions:
            res = box.exec(action.command, timeout=180)
            assert res.exit_code == 0, res.output
            outputs.append(res.output)
            diffs.append(sorted(map(str, box.diff())))
        assert "no further project module" in outputs[-1] and diffs[-1] == diffs[-2]
        assert "no further project module" not in outputs[0]
    finally:
        box.remove()
        out.cleanup()
    _break_and_heal(plan, gold["passing"], docker_client, faults_image, gold["manifest"])


class _FailsFirst(BuiltinAgent):
    """The built-in agent whose first plan's only step writes a file, then exits 3."""

    def _fresh(self, fam):
        if not getattr(self, "_failed_once", False):
            self._failed_once = True
            return FaultPlan("fake_failure", "filesystem", "leftover", "a step that fails",
                             (RunCommand("echo leftover > /testbed/leftover_probe.txt; exit 3"),),
                             "#!/bin/bash\nset -e\nrm -f /testbed/leftover_probe.txt\n")
        return super()._fresh(fam)


@pytest.mark.docker
def test_a_failed_step_that_wrote_files_leaves_nothing_in_the_delta(gold, docker_client, faults_image):  # noqa: F811
    from inversion.engine.episode.loop import EpisodeSpec, run_episode

    baseline = {"stable_passing": PASSING, "flaky": [], "counts": {"passed": len(PASSING)}}
    ctx = AgentContext(repository={"name": "fixture"}, baseline=baseline, surface=gold["surface"], seed=1,
                       budget=Budget(max_steps=20))
    events = []
    spec = EpisodeSpec(image=faults_image, baseline=baseline, instance="pytest", test_timeout=120)
    result = run_episode(docker_client, spec, _FailsFirst(1), ctx, emit=lambda kind, payload, *rest: events.append((kind, payload)))
    commands = [p for k, p in events if k == "command"]
    assert any(c["exit_code"] == 3 and c["mutated"] for c in commands)  # it wrote, then failed
    assert all("leftover_probe" not in str(step) for step in result.delta), result.delta
    assert all(step.get("ok", True) for step in result.delta)
    assert result.status == "succeeded" and result.finish.fault_family != "fake_failure"


@pytest.mark.docker
@pytest.mark.parametrize("name", ["path_wrapper_shadow", "exec_bit_removed"])
def test_a_program_variant_breaks_each_program_the_tests_run_and_one_repair_heals_all(name, gold, docker_client, faults_image, monkeypatch):  # noqa: F811
    """Where the tests run two programs, the multi-step variant breaks both, one step each, and the
    one repair gives both back; where they run one, there is no such variant."""
    programs = {"git": "/usr/bin/git", "tar": "/usr/bin/tar"}
    monkeypatch.setattr(base, "executables", lambda surface: programs)
    ctx = PlanContext(gold["surface"], {"stable_passing": gold["passing"]})
    plan = family(name).deep_plan(ctx, random.Random(0))
    assert plan is not None and len(plan.actions) == 2 and set(plan.objects) == set(programs)
    box, out = _box(docker_client, faults_image)
    try:
        def works(program: str) -> bool:
            return box.exec(f"{program} --version").exit_code == 0

        assert all(works(p) for p in programs)
        for action in plan.actions:
            assert box.exec(action.command).exit_code == 0
        assert not any(works(p) for p in programs)
        box.put_file("/tmp/repair.sh", plan.repair.encode(), mode=0o755)
        assert box.exec("/tmp/repair.sh").exit_code == 0
        assert all(works(p) for p in programs)
    finally:
        box.remove()
        out.cleanup()
    monkeypatch.setattr(base, "executables", lambda surface: {"git": "/usr/bin/git"})
    assert family(name).deep_plan(ctx, random.Random(0)) is None


@pytest.mark.docker
def test_the_locale_variant_makes_locale_gen_compile_the_wrong_charmap_again(docker_client, faults_image):  # noqa: F811
    """The multi-step codeset variant lists the locale with the ASCII charmap in /etc/locale.gen:
    `locale-gen`, the usual cure, compiles it wrong again; the plan's repair gives UTF-8."""
    plan = family("locale_codeset_mismatch").deep_plan(PlanContext({}, {}), random.Random(0))
    charmap = "LC_ALL=en_US.UTF-8 locale charmap 2>/dev/null"
    box, out = _box(docker_client, faults_image)
    try:
        for action in plan.actions:
            if isinstance(action, RunCommand):
                assert box.exec(action.command).exit_code == 0
        assert box.exec("locale-gen").exit_code == 0
        assert box.exec(charmap).output.strip() == "ANSI_X3.4-1968"
        box.put_file("/tmp/repair.sh", plan.repair.encode(), mode=0o755)
        assert box.exec("/tmp/repair.sh").exit_code == 0
        assert box.exec(charmap).output.strip() == "UTF-8"
        assert "ANSI" not in box.exec("cat /etc/locale.gen").output
    finally:
        box.remove()
        out.cleanup()
