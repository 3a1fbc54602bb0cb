"""The built-in agent: seeded diversity, directions, used themes, and the step protocol.
The docker test runs it through the real episode loop on the fault fixture image."""

from __future__ import annotations

import pytest

from inversion.engine.episode.actions import Finish, RunCommand, RunTests, SetEnv
from inversion.engine.episode.agents import agent_class
from inversion.engine.episode.agents.base import AgentContext, Budget, Observation
from inversion.engine.episode.agents.builtin import BuiltinAgent
from inversion.engine.episode.agents.finish import undo_left
from inversion.engine.episode.agents.guard import Guard
from inversion.engine.episode.agents.ordering import BROAD_CATEGORIES, candidate_order
from inversion.engine.episode.faults import families
from inversion.engine.episode.signature import normalise
from tests.support.faults_fixture import PASSING, SURFACE

BASELINE = {"stable_passing": PASSING, "flaky": [], "counts": {"passed": len(PASSING)}}


def _context(seed=0, directions="", used=(), steps=20):
    return AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE,
                        directions=directions, used_themes=list(used), budget=Budget(max_steps=steps), seed=seed)


def _started(seed=0, **kw):
    agent = BuiltinAgent(seed)
    agent.start(_context(seed, **kw))
    return agent


def _first_plan(agent):
    decision = agent.next_action(None)
    assert decision.action is not None
    return agent.plan


def test_resolved_lazily_by_kind():
    assert agent_class("builtin") is BuiltinAgent


def test_ten_seeds_spread_over_many_categories():
    cats = [_first_plan(_started(seed)).category for seed in range(10)]
    assert len(set(cats)) >= 6, cats
    assert cats == [_first_plan(_started(seed)).category for seed in range(10)]  # deterministic


def test_gold_specific_categories_are_tried_before_broad_ones():
    fams = [f for f in families() if f.applicable(SURFACE, BASELINE)]
    specific = {f.category for f in fams} - BROAD_CATEGORIES
    assert len(specific) >= 5
    starts = set()
    for seed in range(len(specific)):
        order = candidate_order(fams, seed=seed)
        starts.add(order[0].category)
        after = [f.category in BROAD_CATEGORIES for f in order if f.category != order[0].category]
        assert after == sorted(after), seed  # once a broad category comes, only broad ones follow
    assert starts == specific


@pytest.mark.parametrize("directions,category", [
    ("break dynamic linking", "shared_library"),
    ("only config files", "config"),
    ("file permissions please", "permissions"),
    ("something with time zones", "timezone"),
])
def test_directions_pick_matching_families(directions, category):
    for seed in range(4):
        assert _first_plan(_started(seed, directions=directions)).category == category


def test_used_themes_are_avoided():
    used = ["shared_library", "config", "python_dependency", "module_shadowing", "stale_bytecode",
            "startup_hooks", "environment", "locale", "timezone", "certificates", "path", "permissions"]
    for seed in range(6):
        plan = _first_plan(_started(seed, used=used))
        assert plan.category not in used and plan.family not in used


def test_protocol_explore_act_then_finish_with_repair():
    agent = _started(0, directions="dynamic linking")
    first = agent.next_action(None)
    assert isinstance(first.action, RunCommand) and first.action.command.startswith("ls ")  # read-only look
    plan = agent.plan
    seen = []
    last = Observation("command", {"exit_code": 0, "output": "", "mutated": False})
    for _ in plan.actions:
        decision = agent.next_action(last)
        seen.append(decision.action)
        last = Observation("tests", {"newly_failing": [], "counts": {}})
    assert tuple(seen) == plan.actions
    done = agent.next_action(Observation("tests", {"newly_failing": ["tests/test_store.py::test_sqlite"],
                                                   "newly_failing_total": 1}))
    assert isinstance(done.action, Finish)
    assert done.action.category == "shared_library" and done.action.fault_family == plan.family
    assert done.action.repair_script == plan.repair


def test_a_fault_that_breaks_nothing_is_undone_and_the_next_is_tried():
    agent = _started(1)
    agent.next_action(None)
    first = agent.plan
    last = Observation("command", {"exit_code": 0, "mutated": False})
    while agent.pending:
        agent.next_action(last)
        last = Observation("tests", {"newly_failing": []})
    undo = agent.next_action(last)
    assert isinstance(undo.action, RunCommand) and "set -e" not in undo.action.command
    assert undo.action.command.strip().endswith(first.repair.strip().splitlines()[-1])
    nxt = agent.next_action(Observation("tests", {"newly_failing": []}))
    assert isinstance(nxt.action, RunCommand | SetEnv) and agent.plan.family != first.family


@pytest.mark.parametrize("layers", [0, 1])
def test_an_undo_that_leaves_tests_failing_ends_the_episode(layers):
    """A repair that did not restore the container (semver: a stale cache of gettext broke the undo's
    own compileall) leaves a base the delta no longer describes: stop, never lay on it; the layers laid
    before it are the task (validation rebuilds them from the delta, without the leftover)."""
    agent = BuiltinAgent(5)
    agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5, faults=2))
    agent.next_action(None)
    failing = {"newly_failing": ["tests/test_six.py::test_six_text"], "newly_failing_total": 1,
               "messages": {"tests/test_six.py::test_six_text": "ModuleNotFoundError: No module named 'six'"}}
    if layers:  # the first fault shows; the second then changes nothing and is undone
        _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": False}))
        agent.next_action(Observation("tests", failing))
    _run_plan(agent, Observation("tests", failing if layers else {"newly_failing": []}))
    undo = agent.next_action(Observation("tests", failing if layers else {"newly_failing": []}))
    assert isinstance(undo.action, RunCommand) and "set -e" not in undo.action.command
    left = {"newly_failing": [*failing["newly_failing"][:layers], "tests/test_store.py::test_sqlite"]}
    stop = agent.next_action(Observation("tests", left))
    assert isinstance(stop.action, Finish) and "no longer matches" in stop.thought
    if not layers:
        assert stop.action.category == "none" and "tests/test_store.py::test_sqlite" in stop.action.summary
    else:  # the layer laid before is in the delta (the leftover is not): it is the task, with its repair
        first = agent.layers[0]
        assert stop.action.category == first.category and stop.action.repair_script == first.repair
        assert [la["family"] for la in stop.action.layers] == [first.family]


def test_an_undo_judged_on_a_truncated_list_of_failing_tests_stops_only_if_more_fail():
    """The event lists the first 200 failing tests: with 314 failing under the layers (humanize), one
    flaky test shifts the window, so only more failing tests than before say the undo left damage."""
    names = [f"tests/test_t.py::test_{i:03d}" for i in range(320)]
    before = set(names[:200])
    shifted = Observation("tests", {"newly_failing": names[1:201], "newly_failing_total": 314})
    assert undo_left("stale_vendored_copy", before, 314, shifted) is None
    more = Observation("tests", {"newly_failing": names[1:201], "newly_failing_total": 320})
    assert undo_left("stale_vendored_copy", before, 314, more) is not None
    assert undo_left("stale_vendored_copy", set(names[:3]), 3, Observation("tests", {"newly_failing": names[1:4]})) is not None


@pytest.mark.parametrize("code,dead", [(1, False), (3, True)])
def test_a_later_layer_whose_step_finds_no_target_is_a_dead_end(code, dead):
    """A step that fails on top of a layer may be the layer's doing (not a dead end); one that exits
    NO_TARGET found nothing to aim at in this gold (semver has no optional import: 17 tries a batch)."""
    agent = BuiltinAgent(5)
    agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5, faults=2))
    agent.next_action(None)
    failing = {"newly_failing": ["tests/test_six.py::test_six_text"], "newly_failing_total": 1}
    _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": False}))
    agent.next_action(Observation("tests", failing))
    second = agent.plan
    undo = agent.next_action(Observation("tests", {**failing, "after": {"exit_code": code}}))
    assert isinstance(undo.action, RunCommand) and undo.action.undoes_from > 0
    assert undo.dead_end == (second.family if dead else "")
    assert undo.no_target == (second.family if dead else "")
    later = BuiltinAgent(5)  # a later episode of this gold never tries it
    later.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5, faults=2,
                             no_targets={undo.no_target} - {""}))
    assert (second.family in {f.name for f in later.candidates}) != dead


def test_a_later_layer_that_failed_every_test_over_a_partial_one_is_marked_and_later_episodes_skip_it():
    """It hid the layer below (refused by `_visible`): the undo says which plan, and later episodes of
    this gold never lay that family on that target over a partial first layer (cssselect: six families
    blocking the one test file's lxml, tried on top in turn, about 50 steps in each of five episodes)."""
    def second_layer(hiders=frozenset()):
        agent = BuiltinAgent(5)
        agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5,
                                 faults=2, hiders=set(hiders), budget=Budget(max_steps=80)))
        agent.next_action(None)
        _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": False}))
        agent.next_action(Observation("tests", {"newly_failing": [PASSING[0]], "newly_failing_total": 1}))
        return agent

    agent = second_layer()
    second = agent.plan
    _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": True}))
    undo = agent.next_action(Observation("tests", {"newly_failing": list(PASSING), "newly_failing_total": len(PASSING)}))
    assert isinstance(undo.action, RunCommand) and "hide the faults below" in undo.thought
    assert undo.hides == f"{second.family}|{normalise(second.target)}" and not undo.dead_end
    later = second_layer({undo.hides})
    assert later.plan is not None and (later.plan.family, normalise(later.plan.target)) != (second.family, normalise(second.target))
    quiet = second_layer()  # a layer that only changed nothing is no such mark
    _run_plan(quiet, Observation("command", {"exit_code": 0, "mutated": True}))
    unmarked = quiet.next_action(Observation("tests", {"newly_failing": [PASSING[0]], "newly_failing_total": 1}))
    assert "changed nothing" in unmarked.thought and unmarked.hides == ""


def test_a_later_layer_that_changed_nothing_is_marked_blind_and_later_episodes_try_it_after_the_rest():
    """Where the first layer fails (nearly) every test at import, a layer on a function below it cannot
    show (termcolor, one module: an instrumentation wrapper tried 14 times as a later layer, never
    showing, as the least-used family always first). Marked `blind`, never a dead end: once it showed
    nothing twice per time it was made a later layer here (plus once), it comes after the rest."""
    def second_layer(blind=None):
        agent = BuiltinAgent(5)
        agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5,
                                 faults=2, blind_layers=dict(blind or {}),
                                 budget=Budget(max_steps=80)))
        agent.next_action(None)
        _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": False}))
        agent.next_action(Observation("tests", {"newly_failing": [PASSING[0]], "newly_failing_total": 1}))
        return agent

    agent = second_layer()
    first, second = agent.layers[0].family, agent.plan.family
    _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": True}))
    undo = agent.next_action(Observation("tests", {"newly_failing": [PASSING[0]], "newly_failing_total": 1}))
    assert "changed nothing" in undo.thought and undo.blind == second and not undo.dead_end and not undo.hides
    assert agent.guard.blind[second] == 1  # this episode's own count too
    once = second_layer({second: 1})
    assert once.plan.family == second  # once is no pattern
    twice = second_layer({second: 2})
    assert twice.layers[0].family == first and twice.plan.family != second
    assert second in [p.family for p in twice.deferred]  # after the rest, not dropped
    made_later = {"key": "k", "label": "", "layers": [{"kind": "elsewhere_first", "category": "x", "target": "t"},
                                                      {"kind": second, "category": "y", "target": "t"}]}
    guard = Guard([made_later])  # it did show here once as a later layer: 2 x (1 + 1) blind tries to yield
    guard.blind[second] = 3
    assert not guard.seldom_shows(second) and not guard.seldom_shows("elsewhere_first")
    guard.blind[second] = 4
    assert guard.seldom_shows(second)


def test_command_result_without_test_run_asks_for_tests():
    agent = _started(2, directions="permissions")
    agent.next_action(None)  # explore
    agent.next_action(Observation("command", {"exit_code": 0}))  # chmod
    ask = agent.next_action(Observation("command", {"exit_code": 0, "mutated": False}))
    assert isinstance(ask.action, RunTests)


def test_budget_exhaustion_finishes_without_a_fault():
    agent = _started(0, steps=3)
    decision = agent.next_action(None)
    assert isinstance(decision.action, Finish) and decision.action.category == "none"


@pytest.mark.docker
@pytest.mark.parametrize("seed", [0, 3])
def test_episode_on_a_real_container_ends_with_a_repairable_fault(seed, docker_client, base_image):
    from inversion.engine.episode.loop import EpisodeSpec, run_episode
    from tests.support.faults_fixture import ensure_faults_image

    image = ensure_faults_image(docker_client, base_image)
    events = []
    spec = EpisodeSpec(image=image, baseline=BASELINE, instance="pytest", test_timeout=120)
    result = run_episode(docker_client, spec, BuiltinAgent(seed), _context(seed),
                         emit=lambda kind, payload, *rest: events.append((kind, payload)))
    kinds = [k for k, _ in events]
    assert result.status == "succeeded", (result.reason, events[-3:])
    assert result.newly_failing and set(result.newly_failing) < set(PASSING)  # some, not all
    assert isinstance(result.finish, Finish) and result.finish.repair_script.strip()
    assert result.finish.category not in ("", "none")
    assert kinds[:3] == ["status", "thought", "command"] and "tests" in kinds and kinds.count("finish") == 1
    assert result.delta  # the fault is recorded for materialization


def _run_plan(agent, last):
    """Feed the agent neutral observations until its current plan's actions are all issued."""
    while agent.pending:
        agent.next_action(last)
        last = Observation("tests", {"newly_failing": [], "counts": {}})


def test_the_guard_skips_a_signature_this_gold_already_has():
    first = _first_plan(_started(0))
    used = [{"key": "k", "label": "x", "layers": [{"kind": first.family, "target": first.target}]}]
    agent = BuiltinAgent(0)
    agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=0,
                             used_signatures=used))
    again = _first_plan(agent)
    assert (again.family, again.target) != (first.family, first.target)


def test_two_faults_of_different_categories_where_the_second_changes_what_fails():
    agent = BuiltinAgent(5)
    agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5, faults=2))
    agent.next_action(None)
    first = agent.plan
    _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": False}))
    failing = {"newly_failing": ["tests/test_six.py::test_six_text"], "newly_failing_total": 1,
               "messages": {"tests/test_six.py::test_six_text": "ModuleNotFoundError: No module named 'six'"}}
    step = agent.next_action(Observation("tests", failing))  # the first fault shows: the next one starts
    second = agent.plan
    assert second is not None and second.category != first.category and not isinstance(step.action, Finish)
    _run_plan(agent, Observation("tests", failing))
    same = agent.next_action(Observation("tests", failing))  # nothing changed: undone (and dropped from the delta)
    assert isinstance(same.action, RunCommand) and same.action.undoes_from > 0
    agent.next_action(Observation("tests", failing))
    assert agent.plan.category != first.category and agent.plan.family != second.family
    _run_plan(agent, Observation("tests", failing))
    changed = {**failing, "messages": {"tests/test_six.py::test_six_text": "AttributeError: module 'six' has no attribute"}}
    done = agent.next_action(Observation("tests", changed))
    assert isinstance(done.action, Finish) and len(done.action.layers) == 2
    layers = done.action.layers
    assert layers[0]["family"] == first.family and done.action.category == layers[1]["category"]
    repair = done.action.repair_script
    assert repair.startswith("#!/bin/bash\nset -e\n") and repair.index("# fault 2") < repair.index("# fault 1")
    assert done.action.fault_family == f"{layers[0]['family']}+{layers[1]['family']}"


def test_a_second_fault_under_a_collection_error_shows_in_the_error_lines():
    """Tests that no longer collect carry no message of their own; the run's error lines change."""
    agent = BuiltinAgent(5)
    agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5, faults=2))
    assert not agent.candidates[0].breaks_all and agent.candidates[-1].breaks_all  # nothing shows under those
    agent.next_action(None)
    _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": False}))
    broken = {"newly_failing": PASSING, "newly_failing_total": len(PASSING),
              "output_tail": "E   ModuleNotFoundError: No module named 'six'\n15 failed in 0.4s"}
    agent.next_action(Observation("tests", broken))
    _run_plan(agent, Observation("tests", broken))
    stub = {**broken, "output_tail": "E   AttributeError: module 'six' has no attribute 'text_type'\n15 failed in 0.5s"}
    done = agent.next_action(Observation("tests", stub))
    assert isinstance(done.action, Finish) and len(done.action.layers) == 2


def test_a_new_error_line_beside_failing_tests_that_keep_their_messages_is_not_a_layer():
    """semver: a leftover package directory in docs/ failed to collect (a new error line) while the
    graded failures kept their messages: nothing graded changed, so the layer is undone."""
    agent = BuiltinAgent(5)
    agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=5, faults=2))
    agent.next_action(None)
    _run_plan(agent, Observation("command", {"exit_code": 0, "mutated": False}))
    failing = {"newly_failing": ["tests/test_six.py::test_six_text"], "newly_failing_total": 1,
               "messages": {"tests/test_six.py::test_six_text": "AttributeError: 'NoneType' object has no attribute 'x'"},
               "output_tail": "FAILED tests/test_six.py::test_six_text\n1 failed in 0.4s"}
    agent.next_action(Observation("tests", failing))
    second = agent.plan
    _run_plan(agent, Observation("tests", failing))
    extra = {**failing, "output_tail": "E   ImportError: cannot import name 'read' from 'docs.conf'\n1 failed, 1 error"}
    undo = agent.next_action(Observation("tests", extra))
    assert isinstance(undo.action, RunCommand) and undo.action.undoes_from > 0, second.family
