"""The built-in agent asked for three faults: where no third layer shows on two, the second is swapped
for another plan that was left beside it, and the dropped one is laid again if no other shows."""

from __future__ import annotations

from inversion.engine.episode.actions import Finish, RunCommand
from inversion.engine.episode.agents.base import AgentContext, Budget, Observation
from inversion.engine.episode.agents.builtin import THIRD_TRIES, BuiltinAgent
from inversion.engine.episode.agents.restarts import SWAPS
from tests.support.faults_fixture import PASSING, SURFACE

BASELINE = {"stable_passing": PASSING, "flaky": [], "counts": {"passed": len(PASSING)}}
TEST = PASSING[0]
MESSAGES = ["ModuleNotFoundError: No module named 'six'", "AttributeError: module 'six' has no attribute 'PY3'",
            "ImportError: cannot import name 'text_type' from 'six'", "TypeError: 'NoneType' object is not callable"]


def _agent(seed: int, steps: int = 60) -> BuiltinAgent:
    agent = BuiltinAgent(seed)
    agent.start(AgentContext(repository={"name": "fixture"}, baseline=BASELINE, surface=SURFACE, seed=seed,
                             faults=3, budget=Budget(max_steps=steps)))
    return agent


def _state(layers: int) -> dict:
    """What the tests say with `layers` faults in place: one test fails, each layer changes its message."""
    if not layers:
        return {"newly_failing": [], "newly_failing_total": 0}
    return {"newly_failing": [TEST], "newly_failing_total": 1, "messages": {TEST: MESSAGES[layers - 1]}}


EVERY = {"newly_failing": list(PASSING), "newly_failing_total": len(PASSING)}  # a layer that fails every test


def _drive(agent: BuiltinAgent, shows, limit: int = 200) -> list:
    """Run the agent against a scripted environment: once a plan's last step ran, the tests change
    only if `shows(layers laid, plan)` (every test fails if it says "hides"). Returns every decision, the finish last."""
    decisions = [agent.next_action(None)]
    for _ in range(limit):
        if isinstance(decisions[-1].action, Finish):
            return decisions
        laid = len(agent.layers)
        done = agent.plan is not None and not agent.pending and not agent.looking
        said = done and shows(agent.layers, agent.plan)
        state = EVERY if said == "hides" else _state(laid + bool(said))
        decisions.append(agent.next_action(Observation("tests", state)))
    raise AssertionError("the agent never finished")


def _started(decisions: list, fault: int) -> list[tuple[int, str]]:
    """(step, family) of each plan begun as fault `fault` of 3."""
    return [(i + 1, d.thought.split()[1]) for i, d in enumerate(decisions)
            if d.thought.startswith("trying ") and f"(fault {fault} of 3)" in d.thought]


def test_no_third_layer_on_two_swaps_the_second_and_a_third_shows_on_the_new_pair():
    agent = _agent(5)
    decisions = _drive(agent, lambda layers, plan: len(layers) < 2 or bool(agent.swapped))
    swaps = [(i + 1, d) for i, d in enumerate(decisions) if "another second layer" in d.thought]
    assert len(swaps) == 1, [d.thought for d in decisions]
    step, swap = swaps[0]
    (start, dropped), *_ = _started(decisions, 2)
    assert isinstance(swap.action, RunCommand) and swap.action.undoes_from == start  # its steps leave the delta
    assert len([s for s, _ in _started(decisions, 3) if s < step]) == THIRD_TRIES
    finish = decisions[-1].action
    assert len(finish.layers) == 3, decisions[-1].thought
    assert finish.layers[0]["family"] == agent.layers[0].family and finish.layers[1]["family"] != dropped
    assert "# fault 3" in finish.repair_script and dropped not in finish.repair_script


def test_when_no_other_second_layer_shows_the_dropped_one_is_laid_again_and_two_layers_finish():
    agent = _agent(7)
    first_second: list[str] = []

    def shows(layers, plan):
        if len(layers) == 1:
            first_second[:] = first_second or [plan.family]
            return plan.family == first_second[0]
        return not layers

    decisions = _drive(agent, shows)
    dropped = first_second[0]
    assert sum("another second layer" in d.thought for d in decisions) == 1  # no other second showed
    again = [d for d in decisions if d.thought.startswith(f"laying {dropped} again")]
    assert len(again) == 1, [d.thought for d in decisions]
    finish = decisions[-1].action
    assert [la["family"] for la in finish.layers][1:] == [dropped]
    assert sum(1 for d in decisions if d.lone) == 0  # a compound was kept, not started over


def test_swaps_are_bounded_and_an_episode_keeps_its_two_layers_when_no_third_ever_shows():
    agent = _agent(3, steps=200)
    decisions = _drive(agent, lambda layers, plan: len(layers) < 2, limit=400)
    assert sum("another second layer" in d.thought for d in decisions) == SWAPS
    finish = decisions[-1].action
    assert len(finish.layers) == 2, decisions[-1].thought


def test_a_swap_needs_room_for_two_more_layers_in_the_budget():
    agent = _agent(5, steps=24)
    decisions = _drive(agent, lambda layers, plan: len(layers) < 2)
    assert not any("another second layer" in d.thought for d in decisions)
    assert len(decisions[-1].action.layers) == 2 and len(decisions) <= 24


def test_a_plan_that_failed_every_test_on_top_is_not_tried_again_after_a_swap():
    """markupsafe: the same stubs of the project, each failing every test, were tried as the third
    layer, then again as the second after the swap (about four steps each time)."""
    agent = _agent(5, steps=120)
    hiders: list[tuple[str, str]] = []

    def shows(layers, plan):
        if len(layers) < 2 and not agent.swapped:
            return True
        if len(layers) == 2 and len(hiders) < THIRD_TRIES:
            hiders.append((plan.family, plan.target))
            return "hides"
        return len(layers) < 2

    decisions = _drive(agent, shows)
    assert len(hiders) == THIRD_TRIES and any("another second layer" in d.thought for d in decisions)
    begun = [(d.thought.split()[1], d.thought.split(" on ")[1].split(" (fault")[0]) for d in decisions
             if d.thought.startswith("trying ")]
    for hider in hiders:
        assert begun.count(hider) == 1, begun  # never laid again, as a second layer or a third


def test_damage_the_first_layer_hides_is_tried_once_whatever_second_layer_is_swapped_in(monkeypatch):
    """A shadow of a stdlib module stays through every swap, so damage to that module's file behind
    it shows nothing under any second layer (markupsafe, where the tests reach `html` alone: six such
    plans tried again after each of two swaps)."""
    from collections import Counter

    from inversion.engine.episode.agents import builtin
    from inversion.engine.episode.agents.targets import aim_rank
    from inversion.engine.episode.faults import family, hooks, pydeps, stdlib, stdlib_tools
    from inversion.engine.episode.signature import normalise

    names = ["sitecustomize_blocker", "stdlib_shadow_testbed", "pythonpath_stub", "stdlib_py_tab_indent",
             "stdlib_source_reencoded", "stdlib_dpkg_diverted"]
    monkeypatch.setattr(builtin, "families", lambda: [family(n) for n in names])
    for module in (stdlib, stdlib_tools):  # one stdlib module the tests reach, as on markupsafe
        monkeypatch.setattr(module, "py_files", lambda surface, init: [] if init else ["mimetypes"])
    monkeypatch.setattr(stdlib_tools, "extensions", lambda surface: [])
    monkeypatch.setattr(hooks, "blockable", lambda surface: ["mimetypes"])  # the first layer: the longest
    monkeypatch.setattr(pydeps.StdlibShadow, "candidates", lambda self, surface: ["mimetypes"])
    hidden_tries = 0
    for seed in range(8):
        agent = _agent(seed, steps=120)
        tried: Counter = Counter()

        def shows(layers, plan, tried=tried):
            if layers and aim_rank(plan, layers[:1], builtin.LAYERING) == 2:
                tried[(plan.family, normalise(plan.target), layers[0].summary)] += 1
                return False
            return len(layers) < 2  # no third layer ever shows: the second is swapped

        _drive(agent, shows, limit=400)
        hidden_tries += sum(tried.values())
        assert all(n == 1 for n in tried.values()), tried
    assert hidden_tries  # some first layers hid some later plans
