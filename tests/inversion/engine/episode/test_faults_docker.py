"""Every fault family on a real container: its plan breaks a passing test, its repair heals all.

One fixture image (venv, pytest, pyyaml, markupsafe, six) is built once and cached by Docker; each
family gets a fresh container with a small /testbed project whose tests use yaml, markupsafe, six,
sqlite3, zlib, ssl, zoneinfo, locale, git, tmp_path, non-ASCII text, localhost sockets, a deprecated
helper, mimetypes and a MarkupSafe >= 3 check. A family that installs from the index (network
episodes only) runs in a container with the host network.
"""

from __future__ import annotations

import copy
import random

import pytest

from inversion.engine.episode.actions import RunCommand, SetEnv
from inversion.engine.episode.faults import FaultPlan, PlanContext, calls, families, family, stdlib_targets
from inversion.engine.episode.faults import base as fb
from inversion.engine.gold import surface as surf
from inversion.engine.runtime import integrity, testrun
from inversion.engine.runtime.grading import grading_cmd
from inversion.engine.runtime.sandbox import Sandbox
from tests.support.faults_fixture import PASSING, ensure_faults_image

BREAKS_ALL = {"venv_python_symlink", "pytest_required_plugin", "conftest_import_error"}  # by nature
# test_net loads stringprep (socket's idna codec), yet its ASCII localhost never needs it: a family
# aimed there breaks nothing, which the agent learns by trying; these tests aim elsewhere.
LAZY = "stringprep"
GRADING = grading_cmd(testrun.DEFAULT_TEST_CMD)  # as the episode loop runs them: all tests


@pytest.fixture(scope="session")
def faults_image(docker_client, base_image):
    return ensure_faults_image(docker_client, base_image)


def _box(client, image, network="none", env=None):
    out = testrun.OutDir()
    box = Sandbox(client, image, kind="test", instance="pytest", mounts=testrun.mounts(out), network=network, env=env)
    box.start()
    return box, out


@pytest.fixture(scope="session")
def gold(docker_client, faults_image):
    """Baseline outcomes, the summarised surface and the verifier's manifest of the fixture project."""
    return capture_gold(docker_client, faults_image)


def capture_gold(client, image) -> dict:
    """What the gold build records of `image`, as it records it: the verifier's manifest, the surface
    of a run (with the call map of a profiled one) and the tests that passed in it."""
    box, out = _box(client, image)
    try:
        manifest = integrity.collect_gold(box, out, testrun.DEFAULT_TEST_CMD)
        run = testrun.run_tests(box, out, surface=True)
        calls = testrun.run_tests(box, out, calls=True).calls  # as the gold's baseline takes its call map
        raw = {**run.surface, "calls": calls}
        summary = surf.summarize(raw, surf.image_info(box, out, raw))
        passing = sorted(run.ids(testrun.PASSED))
        return {"surface": summary, "passing": passing, "manifest": integrity.add_volatile(box, out, manifest)}
    finally:
        box.remove()
        out.cleanup()


@pytest.mark.docker
def test_fixture_baseline_is_healthy(gold):
    assert gold["passing"] == sorted(PASSING)  # the captured surface's baseline is what the image gives


@pytest.mark.docker
@pytest.mark.parametrize("fam", families(), ids=lambda f: f.name)
def test_family_breaks_then_repair_heals(fam, gold, docker_client, faults_image):
    """The plan breaks a passing test, the verifier gives the broken state 0 and the repaired one 1
    (a repair restores whatever the verifier checks to the gold's bytes)."""
    surface, passing = gold["surface"], gold["passing"]
    assert fam.applicable(surface, {"stable_passing": passing}), fam.name
    ctx = PlanContext(surface, {"stable_passing": passing}, network=fam.needs_network)
    plan = fam.plan(ctx, random.Random(0))
    if fam.name == "pip_incompatible_version":  # the fixture's test_render needs MarkupSafe >= 3
        plan = next(p for p in (fam.plan(ctx, random.Random(s)) for s in range(20)) if p.target == "markupsafe")
    if plan.target == LAZY:
        plan = next(p for p in (fam.plan(ctx, random.Random(s)) for s in range(20)) if p.target != LAZY)
    users = None
    if fam.name.startswith("stdlib_") or fam.name == "project_extension_leftover":
        users = _users(surface, plan.target)  # only the files that use the damaged module may fail
    _break_and_heal(plan, passing, docker_client, faults_image, gold["manifest"],
                    network="host" if fam.needs_network else "none", users=users)


@pytest.mark.docker
def test_soname_that_is_the_library_file_itself_breaks_then_heals(gold, docker_client, faults_image):
    """libssl.so.3 is a regular file, not a link: the plan moves it aside and the repair restores it."""
    surface = copy.deepcopy(gold["surface"])
    for entry in surface["per_file"].values():
        entry["shared_libs"] = [p for p in entry.get("shared_libs") or [] if "libsqlite3" not in p]
    plan = family("so_truncated_shadow").plan(PlanContext(surface, {}), random.Random(0))
    assert plan.target in {"libssl.so.3", "libcrypto.so.3"} and ".orig" in plan.actions[0].command
    _break_and_heal(plan, gold["passing"], docker_client, faults_image, gold["manifest"])


def _users(surface, target):
    """The test files that load `target` (or the stdlib module its extension serves): by top-level
    name, or by full name for a submodule of a package loaded at start-up or of the project."""
    facade = stdlib_targets.HARD_EXTENSIONS.get(target, target)
    names = {target} if target.startswith("calc.") else stdlib_targets.aliases(surface, target) | stdlib_targets.aliases(surface, facade)
    return {f for f, v in surface["per_file"].items() if names & {n for m in v["modules"] for n in (m, fb.top(m))}}


def _verifier(plan, passing, failing, docker_client, faults_image, manifest, env):
    box, out = _box(docker_client, faults_image)
    try:
        task_part = integrity.collect_task(box, out, manifest, env)
    finally:
        box.remove()
        out.cleanup()
    grading = integrity.Grading(testrun.DEFAULT_TEST_CMD, failing, [t for t in passing if t not in failing], timeout=300)
    config = integrity.verifier_config(manifest, task_part, grading)
    return integrity.verifier_files(manifest, config), integrity.run_script(manifest, "harbor")


def _break_and_heal(plan, passing, docker_client, faults_image, manifest, network="none", users=None, whole=False):
    fam = plan.family
    # The verifier grades in the container's own environment (its first process's, as an image's ENV
    # lines give it), so the plan's variables are set on the container, not only on each exec.
    image_env = {a.name: a.value for a in plan.actions if isinstance(a, SetEnv)}
    box, out = _box(docker_client, faults_image, network, env=image_env)
    try:
        env: dict[str, str] = {}
        for action in plan.actions:
            if isinstance(action, SetEnv):
                env[action.name] = action.value
            else:
                assert isinstance(action, RunCommand)
                res = box.exec(action.command, env=env or None, timeout=180)
                assert res.exit_code == 0, res.output
        broken = testrun.run_tests(box, out, test_cmd=GRADING, env=env or None)
        failing = [t for t in passing if broken.outcomes.get(t) is None or broken.outcomes[t].outcome != "passed"]
        assert failing, f"{fam} broke nothing: {broken.output[-1500:]}"
        if fam not in BREAKS_ALL and not whole:
            assert len(failing) < len(passing), f"{fam} is not targeted: every test fails"
        if users is not None:
            assert {t.split("::")[0] for t in failing} <= users, f"{fam} broke files that do not use {plan.target}"
        files, script = _verifier(plan, passing, failing, docker_client, faults_image, manifest, env)
        nop = integrity.run_verifier(box, files, script, timeout=600, env=env or None)
        assert nop.reward == 0, f"{fam}: the verifier passed the broken environment: {nop.output[-1500:]}"
        box.put_file("/tmp/repair.sh", plan.repair.encode(), mode=0o755)
        res = box.exec("bash /tmp/repair.sh", env=env or None, timeout=60)
        assert res.exit_code == 0, res.output
        healed = testrun.run_tests(box, out, test_cmd=GRADING, env=env or None)
        still = [t for t in passing if healed.outcomes.get(t) is None or healed.outcomes[t].outcome != "passed"]
        assert not still, f"{fam} repair left {still}: {healed.output[-1500:]}"
        oracle = integrity.run_verifier(box, files, script, timeout=600, env=env or None)
        assert oracle.reward == 1, f"{fam}: the verifier failed the repaired environment: {oracle.output[-1500:]}"
    finally:
        box.remove()
        out.cleanup()


STDLIB_FAMILIES = [f for f in families() if f.name.startswith("stdlib_") and f.name != "stdlib_shadow_testbed"]


@pytest.mark.docker
@pytest.mark.parametrize("fam", STDLIB_FAMILIES, ids=lambda f: f.name)
def test_stdlib_family_on_another_target(fam, gold, docker_client, faults_image):
    """Each standard-library family on a second target (seed 0's is tested above): `_ssl` beside
    `_sqlite3`, `zoneinfo` beside `sqlite3` ...; again only the files that use it fail."""
    surface, passing = gold["surface"], gold["passing"]
    ctx = PlanContext(surface, {"stable_passing": passing})
    first = fam.plan(ctx, random.Random(0)).target
    plan = next((p for p in (fam.plan(ctx, random.Random(s)) for s in range(1, 40)) if p.target != first), None)
    assert plan is not None, f"{fam.name} has one target only"
    _break_and_heal(plan, passing, docker_client, faults_image, gold["manifest"], users=_users(surface, plan.target))


@pytest.mark.docker
@pytest.mark.parametrize("where", ["site", "stdlib"])
def test_one_function_from_the_call_map_breaks_a_part_then_heals(where, gold, docker_client, faults_image):
    """Aimed through the call map at one function of an installed (yaml, markupsafe, six) or stdlib
    (mimetypes, locale, zoneinfo ...) module, a stale cache entry, a leftover debugger line and a
    misapplied hotfix (and for stdlib, stubbed copies: diverted into place, or shadowing it from a
    .pth's directory, the stdlib zip or PYTHONPATH) each fail only tests of the files that import that
    module, and their repairs heal them."""
    surface, passing = gold["surface"], gold["passing"]
    rows = calls.function_targets(surface, where)
    assert rows, f"the fixture's call map has no {where} function some tests call"
    ctx = PlanContext(surface, {"stable_passing": passing})
    stale = family("stale_bytecode" if where == "site" else "stdlib_stale_bytecode")
    debug, patched = family("debugger_call_left"), family("hotfix_patch_misapplied")
    only = PlanContext({**surface, "calls": {**surface["calls"], "functions": rows}}, ctx.baseline)
    plans = [calls.stale_function_plan(stale, ctx, random.Random(3), rows), debug._plan(only, random.Random(3), count=1),
             patched._plan(only, random.Random(5), count=1)]
    if where == "stdlib":  # copies with one function stubbed: a dpkg diversion put one in place, a path a .pth
        # puts first holds one, the stdlib zip holds one's bytecode, PYTHONPATH names a directory holding one
        plans += [family("stdlib_dpkg_diverted")._customised(ctx, random.Random(3)),
                  family("stdlib_py_stale_override")._copied(ctx, random.Random(3)),
                  family("stdlib_zip_shadow")._stubbed(ctx, random.Random(4)),
                  family("pythonpath_stub")._copied(ctx, random.Random(7))]  # socket: `string` is used through markupsafe
    for plan in plans:
        users = {f for f, mods in fb.file_modules(surface).items() if fb.top(plan.target) in mods}
        _break_and_heal(plan, passing, docker_client, faults_image, gold["manifest"], users=users)


@pytest.mark.docker
def test_a_stale_cache_over_a_debugger_line_in_one_module_heals_outermost_first(gold, docker_client, faults_image):
    """Two layers on one stdlib module (seen on jmespath: json): the stale cache's repair compiles
    the edited source, so the debugger line's repair must recompile what it restores, or the
    verifier finds bytecode that does not match the source."""
    surface, passing = gold["surface"], gold["passing"]
    rows = calls.function_targets(surface, "stdlib")
    module = rows[0]["module"]
    same = [r for r in rows if r["module"] == module]
    only = PlanContext({**surface, "calls": {**surface["calls"], "functions": same}}, {"stable_passing": passing})
    debug = family("debugger_call_left")._plan(only, random.Random(3), count=1)
    stale = calls.stale_function_plan(family("stdlib_stale_bytecode"), only, random.Random(4), same)
    both = FaultPlan("debugger_call_left+stdlib_stale_bytecode", "debug_leftover", module, "two layers",
                     debug.actions + stale.actions,
                     "#!/bin/bash\nset -e\n" + "\n".join([*stale.repair_lines, *debug.repair_lines]) + "\n")
    _break_and_heal(both, passing, docker_client, faults_image, gold["manifest"])


@pytest.mark.docker
def test_a_stale_cache_of_what_the_repair_tool_imports_still_heals(gold, docker_client, faults_image):
    """A placeholder cache of argparse (pytest and `python -m compileall` both import it; seen on
    semver through gettext): every test fails, and the repair's own recompile must not load it, or the
    undo fails and the oracle with it."""
    surface, passing = gold["surface"], gold["passing"]
    assert "argparse" in stdlib_targets.stdlib_files(surface)
    plan = family("stdlib_stale_bytecode")._plan(PlanContext(surface, {"stable_passing": passing}), ["argparse"])
    _break_and_heal(plan, passing, docker_client, faults_image, gold["manifest"], whole=True)


# Repairs an agent might try that make the tests pass and leave the environment other than the gold's.
HACKS = {
    "compat_shim_reroutes_call":  # the shim left in place with no routes
        "for f in {sp}/*.py; do if grep -q '^ROUTES = ' $f; then sed -i 's/^ROUTES = .*/ROUTES = {{}}/' $f; fi; done",
    "upgrade_interrupted_signature":  # the new keyword given a default, the stash dropped
        "for f in $(grep -rl --include=*.py '[*], strict)' {sp} | grep -v '/~'); do sed -i 's/[*], strict)/*, strict=None)/' $f; done; "
        "rm -rf {sp}/~*",
}


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(HACKS))
def test_a_workaround_that_makes_the_tests_pass_is_not_rewarded(name, gold, docker_client, faults_image):
    """An agent that neuters a call-time fault instead of undoing it gets the tests green and reward 0:
    the verifier compares the installed environment with the gold's."""
    surface, passing = gold["surface"], gold["passing"]
    plan = family(name).plan(PlanContext(surface, {"stable_passing": passing}), random.Random(0))
    box, out = _box(docker_client, faults_image)
    try:
        for action in plan.actions:
            assert box.exec(action.command, timeout=180).exit_code == 0
        broken = testrun.run_tests(box, out, test_cmd=GRADING)
        failing = [t for t in passing if broken.outcomes.get(t) is None or broken.outcomes[t].outcome != "passed"]
        assert failing
        files, script = _verifier(plan, passing, failing, docker_client, faults_image, gold["manifest"], {})
        res = box.exec(HACKS[name].format(sp=fb.site_packages(surface)), timeout=60)
        assert res.exit_code == 0, res.output
        healed = testrun.run_tests(box, out, test_cmd=GRADING)
        assert all(healed.outcomes.get(t) and healed.outcomes[t].outcome == "passed" for t in passing), healed.output[-1500:]
        verdict = integrity.run_verifier(box, files, script, timeout=600)
        assert verdict.reward == 0 and "differs from the gold" in verdict.output, verdict.output[-1500:]
    finally:
        box.remove()
        out.cleanup()
