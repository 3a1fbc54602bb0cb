"""The episode loop and validation on a real container (engine only, no Django)."""

from __future__ import annotations

import pytest

from inversion.engine.episode.actions import RunCommand, RunTests
from inversion.engine.episode.agents.base import AgentContext, Budget, Decision
from inversion.engine.episode.loop import EpisodeResult, EpisodeSpec, run_episode
from inversion.engine.runtime import labels as lbl
from inversion.engine.validate.materialize import broken_dockerfile
from inversion.engine.validate.rules import remove_image, validate
from inversion.engine.validate.verdicts import ValidationSpec
from tests.support.fixture_gold import BREAK, ScriptedAgent, ensure_gold_image, measure_baseline

DEP_TESTS = {"tests/test_dep.py::test_double", "tests/test_dep.py::test_double_neg"}


@pytest.fixture(scope="module")
def gold(docker_client, base_image):
    image, dockerfile = ensure_gold_image(docker_client, base_image)
    return {"image": image, "dockerfile": dockerfile, "baseline": measure_baseline(docker_client, image)}


def _run(docker_client, gold, agent, *, budget=None, cancel=lambda: False, owner="episode:t"):
    events = []
    spec = EpisodeSpec(image=gold["image"], baseline=gold["baseline"], instance="pytest", owner=owner)
    ctx = AgentContext(repository={"name": "tiny"}, baseline=gold["baseline"], surface={}, budget=budget or Budget())
    result = run_episode(docker_client, spec, agent, ctx, emit=lambda *e: events.append(e), should_cancel=cancel)
    return result, events


def _containers(docker_client, owner):
    return docker_client.containers.list(all=True, filters={"label": f"{lbl.OWNER}={owner}"})


@pytest.mark.docker
def test_scripted_break_keeps_only_mutations_and_validates(docker_client, gold):
    assert len(gold["baseline"]["stable_passing"]) == 5
    result, events = _run(docker_client, gold, ScriptedAgent(), owner="episode:t1")
    assert result.status == "succeeded", result.reason
    assert set(result.newly_failing) == DEP_TESTS
    # exploration dropped, env and the write kept, in order
    assert result.delta == [{"env": "TINY_FLAG", "value": "on"}, {"run": BREAK, "ok": True}]
    commands = [e[1] for e in events if e[0] == "command"]
    assert [c["mutated"] for c in commands] == [False, True]
    assert any(e[0] == "tests" and set(e[1]["newly_failing"]) == DEP_TESTS for e in events)
    assert result.prompt_tokens == 3 * 4 and result.steps == 4
    assert not _containers(docker_client, "episode:t1")  # always removed

    dockerfile, delta = broken_dockerfile(gold["dockerfile"], result.delta)
    assert dockerfile.startswith(gold["dockerfile"].rstrip()) and delta.count("\n") == 2
    assert 'ENV TINY_FLAG="on"' in delta
    rules = []
    v = validate(docker_client, ValidationSpec(gold_image=gold["image"], baseline=gold["baseline"],
                                               delta=result.delta, repair_script=result.finish.repair_script,
                                               instance="pytest", owner="episode:t1"),
                 on_rule=lambda *r: rules.append(r))
    try:
        assert v.ok, v.rules
        assert set(v.f2p) == DEP_TESTS and len(v.p2p) == 3
        assert v.rules["nop"]["ok"] and v.rules["oracle"]["ok"] and not v.oracle_missing
        assert "tinydep is corrupted" in v.excerpts["tests/test_dep.py::test_double"]
        assert [r.rule for r in v.runs] == ["rebuild", "broken", "broken", "graded", "nop", "oracle"]
        assert [r[0] for r in rules] == ["rebuild", "f2p", "p2p", "nop", "oracle"]
    finally:
        remove_image(docker_client, v.image)


@pytest.mark.docker
def test_a_break_seen_in_a_sampled_run_counts_every_stable_test_the_full_run_fails(docker_client, gold, monkeypatch):
    """A large suite is sampled; a failure there is confirmed by the whole suite, whose failures
    outside the sample count too (the agent then sees a break of every test as one), listed in the
    baseline's order whatever the sample (the event keeps the first 200: two runs failing the same
    tests show the same ones)."""
    from inversion.engine.episode import loop

    stable = [t for t in loop.stable_passing(gold["baseline"]) if t in DEP_TESTS]
    sample = [stable[-1], "tests/test_core.py::test_dump"]
    monkeypatch.setattr(loop, "select_tests", lambda *a, **k: list(sample))
    result, events = _run(docker_client, gold, ScriptedAgent(), owner="episode:t-sample")
    assert result.status == "succeeded", result.reason
    assert result.newly_failing == stable and len(stable) == 2
    tests = [e[1] for e in events if e[0] == "tests" and e[1]["newly_failing"]]
    assert tests and tests[-1]["newly_failing_total"] == 2 and tests[-1]["selected"] == 2


@pytest.mark.docker
def test_wrong_repair_fails_the_oracle_and_no_repair_is_flagged(docker_client, gold):
    delta = [{"run": BREAK, "ok": True}]
    spec = dict(gold_image=gold["image"], baseline=gold["baseline"], delta=delta, instance="pytest")
    bad = validate(docker_client, ValidationSpec(**spec, repair_script="true"))
    remove_image(docker_client, bad.image)
    assert not bad.ok and bad.failed_rule == "oracle"
    missing = validate(docker_client, ValidationSpec(**spec, repair_script=""))
    remove_image(docker_client, missing.image)
    assert missing.ok and missing.oracle_missing and missing.rules["oracle"]["ok"] is None


@pytest.mark.docker
def test_unbuildable_delta_fails_rebuild(docker_client, gold):
    v = validate(docker_client, ValidationSpec(gold_image=gold["image"], baseline=gold["baseline"],
                                               delta=[{"run": "exit 3", "ok": True}], instance="pytest"))
    assert not v.ok and v.failed_rule == "rebuild" and v.runs[0].rule == "rebuild"


@pytest.mark.docker
@pytest.mark.parametrize("name", ["BASH_ENV", "SHELLOPTS", "BASH_FUNC_python%%"])
def test_a_variable_bash_reads_at_start_never_enters_a_delta_and_validation_refuses_one(docker_client, gold, name):
    """A harness runs the verifier as `bash -c` with the image's ENV: a BASH_ENV naming a file the
    agent may rewrite (or xtrace with a PS4 that runs `$(...)`, or an exported function) would run
    the agent's code in the verifier's shell. The loop refuses the step (the agent is told why) and
    validation refuses a delta that holds one (an older or hand-made episode)."""
    from inversion.engine.episode.actions import Finish, SetEnv
    from tests.support.fixture_gold import BREAK, REPAIR

    agent = ScriptedAgent([SetEnv(name, "/tmp/agent-writes-this.sh"), RunCommand(BREAK),
                           Finish("python_dependency", "corrupted tinydep", REPAIR)])
    result, events = _run(docker_client, gold, agent, owner="episode:t-shellenv")
    assert result.status == "succeeded", result.reason
    assert result.delta == [{"run": BREAK, "ok": True}]
    assert agent.seen[1].kind == "error" and name in agent.seen[1].payload["message"]
    v = validate(docker_client, ValidationSpec(gold_image=gold["image"], baseline=gold["baseline"],
                                               delta=[{"run": BREAK, "ok": True}, {"env": name, "value": "/tmp/x.sh"}],
                                               repair_script=REPAIR, instance="pytest"))
    assert not v.ok and v.failed_rule == "rebuild" and not v.image
    assert f"step 2: {name} is read by every bash at start" in v.rules["rebuild"]["detail"]


@pytest.mark.docker
def test_budget_bad_replies_and_cancel_stop_the_loop(docker_client, gold):
    explorer = ScriptedAgent([RunCommand("true")] * 10)
    result, _ = _run(docker_client, gold, explorer, budget=Budget(max_steps=3), owner="episode:t2")
    assert result.status == "no_task" and "3 steps" in result.reason and result.steps == 3

    broken_replies = ScriptedAgent([Decision(None, error="bad json", prompt_tokens=50)] * 5 + [RunTests()])
    result, events = _run(docker_client, gold, broken_replies, budget=Budget(max_tokens=120), owner="episode:t3")
    assert [e[0] for e in events].count("error") == 3 and "120 tokens" in result.reason
    assert broken_replies.seen[1].kind == "error" and broken_replies.seen[1].payload["message"] == "bad json"

    calls = iter([False, False, True])
    result, events = _run(docker_client, gold, ScriptedAgent([RunCommand("true")] * 10),
                          cancel=lambda: next(calls), owner="episode:t4")
    assert result.status == "cancelled" and result.steps == 2
    assert not _containers(docker_client, "episode:t4")


@pytest.mark.docker
def test_premature_finish_is_refused_and_giving_up_ends_the_episode(docker_client, gold):
    from inversion.engine.episode.actions import Finish
    from tests.support.fixture_gold import REPAIR

    agent = ScriptedAgent([Finish("dependency", "nothing done yet", REPAIR), RunCommand(BREAK),
                           Finish("dependency", "corrupted tinydep", REPAIR)])
    result, events = _run(docker_client, gold, agent, owner="episode:t-refuse")
    assert result.status == "succeeded", result.reason
    refusals = [e for e in events if e[0] == "error" and "finish refused" in e[1]["message"]]
    assert len(refusals) == 1 and result.steps == 3
    assert agent.seen[1].kind == "error"  # the agent was told why

    quitter = ScriptedAgent([Finish("none", "found nothing to break", "")])
    result, _ = _run(docker_client, gold, quitter, owner="episode:t-quit")
    assert result.status == "no_task" and result.steps == 1

    # giving up after a break is still no task: no category, no repair (humanize: an undo that left
    # damage ended "none", and the failing tests had made a task of it without its repair)
    leaver = ScriptedAgent([RunCommand(BREAK), Finish("none", "an undo left damage", "")])
    result, _ = _run(docker_client, gold, leaver, owner="episode:t-leave")
    assert result.status == "no_task" and result.newly_failing, result.reason
    assert "gave up: an undo left damage" in result.reason and "stably passing tests fail" in result.reason


@pytest.mark.docker
def test_a_command_that_kills_every_process_ends_the_episode_in_plain_words(docker_client, gold):
    """Before: the raw Docker 409 ("container ... is not running") as an error."""
    agent = ScriptedAgent([RunCommand("kill -9 -1"), RunTests()])  # the next step finds the container gone
    result, events = _run(docker_client, gold, agent, owner="episode:kill")
    assert result.status == "no_task"
    assert result.reason == "the container stopped: a command killed its main process, so nothing more can run"
    assert not _containers(docker_client, "episode:kill")


def test_an_undo_drops_the_abandoned_steps_and_their_env_from_the_delta():
    """Leftovers of an abandoned attempt (an LC_ALL that turns messages German) never reach the task."""
    from inversion.engine.episode.loop import _Loop

    loop = _Loop.__new__(_Loop)
    loop.result = EpisodeResult()
    loop.result.delta = [{"run": "keep", "ok": True}, {"env": "LC_ALL", "value": "de_DE.UTF-8"},
                         {"run": "abandoned", "ok": True}]
    loop.result.env = {"LC_ALL": "de_DE.UTF-8"}
    loop.delta_steps = [2, 5, 6]
    loop._drop_from(5)
    assert loop.result.delta == [{"run": "keep", "ok": True}] and loop.result.env == {}
    assert loop.delta_steps == [2]
