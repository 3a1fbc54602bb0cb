"""The LLM agent against a real Chat Completions server on loopback, malformed replies included."""

from __future__ import annotations

import json
import re

import pytest

from inversion.engine.episode.actions import Finish, RunCommand, SetEnv
from inversion.engine.episode.agents.base import AgentContext, Budget, Observation
from inversion.engine.episode.agents.llm import LLMAgent
from inversion.engine.episode.loop import EpisodeSpec, run_episode
from inversion.engine.runtime.llm.client import ChatClient
from inversion.engine.validate.issuewriter import GRADING_NOTE, Evidence, llm_issue
from tests.support.fixture_gold import BREAK, DEP, REPAIR, ensure_gold_image, measure_baseline

SURFACE = {
    "python": {"executable": "/opt/venv/bin/python", "version": "3.11.2", "prefix": "/opt/venv",
               "site_packages": "/opt/venv/lib/python3.11/site-packages"},
    "modules": {"site": [{"name": "tinydep", "file": DEP, "dist": "", "version": ""}],
                "project": [{"name": "tinyproj", "file": "/testbed/tinyproj/__init__.py"}]},
    "shared_libs": [{"path": "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "name": "libsqlite3", "package": "libsqlite3-0"}],
    "packages": [{"name": "pytest", "version": "8.3.5"}],
}


def _context(baseline, **kw) -> AgentContext:
    return AgentContext(repository={"name": "tinyproj", "spec": "path:/src/tinyproj"}, baseline=baseline,
                        surface=SURFACE, directions="only touch site-packages", used_themes=["locale/lc-all"], **kw)


def _agent(server, mode="auto") -> LLMAgent:
    return LLMAgent(base_url=server.base_url, model=server.model, api_key="k", tool_choice_mode=mode)


def test_prompt_carries_facts_and_named_mode_names_the_tool(chat_server):
    chat_server.tool_call("act", {"action": "set_env", "name": "LC_ALL", "value": "xx_YY"}, usage=(100, 7))
    agent = _agent(chat_server, mode="named")
    agent.start(_context({"counts": {"passed": 5}, "stable_passing": ["tests/test_dep.py::test_double"]}))
    decision = agent.next_action(None)
    assert decision.action == SetEnv("LC_ALL", "xx_YY")
    assert (decision.prompt_tokens, decision.completion_tokens) == (100, 7)
    request = chat_server.last_request
    assert request["tool_choice"] == {"type": "function", "function": {"name": "act"}}
    system = request["messages"][0]["content"]
    for fact in (DEP, "libsqlite3.so.0", "tests/test_dep.py::test_double", "only touch site-packages",
                 "locale/lc-all", "pytest==8.3.5", "/opt/venv/lib/python3.11/site-packages"):
        assert fact in system


def test_malformed_replies_become_errors_fed_back(chat_server):
    chat_server.tool_call("act", '{"action": "run_command", "command": ')  # broken JSON
    chat_server.text("I think I will look around first.")  # prose, no tool call
    chat_server.empty()
    chat_server.error(500, "overloaded")
    chat_server.tool_call("act", {"action": "dance"})
    chat_server.text('```json\n{"action": "run_command", "command": "ls",}\n```')  # fenced, trailing comma
    agent = _agent(chat_server)
    agent.start(_context({}))
    decisions = [agent.next_action(None)]
    for _ in range(5):
        decisions.append(agent.next_action(Observation("error", {"message": decisions[-1].error})))
    assert [d.action is None for d in decisions] == [True] * 5 + [False]
    assert all(d.error for d in decisions[:5])
    assert "unknown action" in decisions[4].error and "overloaded" in decisions[3].error
    assert decisions[5].action == RunCommand("ls")
    # the error of the first reply went back as the tool result of that call
    second = chat_server.requests[1]["messages"]
    assert second[-1]["role"] == "tool" and "ERROR" in second[-1]["content"]
    assert second[-2]["tool_calls"][0]["id"] == second[-1]["tool_call_id"]


def test_issue_writer_rejects_giveaways(chat_server):
    evidence = Evidence(repo="tinyproj", category="python_dependency", f2p=["tests/test_dep.py::test_double"],
                        excerpts={"tests/test_dep.py::test_double": f"ImportError: {DEP} is corrupted"},
                        delta=[{"run": BREAK, "ok": True}, {"env": "TINY_FLAG", "value": "on"}])
    chat_server.text(json.dumps({"instruction": "Broken: tinydep.py was overwritten. Hint: deps.",
                                 "instruction_hard": "tinydep.py was overwritten"}))
    chat_server.text(json.dumps({"instruction": "test_double fails with an ImportError. Hint: packages.",
                                 "instruction_hard": "test_double fails with an ImportError."}))
    client = ChatClient(base_url=chat_server.base_url, api_key="k", model=chat_server.model)
    leaked = llm_issue(evidence, client)
    assert leaked.source == "writer" and "tinydep.py" in leaked.note
    assert "tinydep.py" not in leaked.instruction and "TINY_FLAG" not in leaked.instruction_hard
    clean = llm_issue(evidence, client)
    assert clean.source == "llm" and clean.instruction_hard == f"test_double fails with an ImportError.\n\n{GRADING_NOTE}"
    assert DEP not in chat_server.requests[0]["messages"][0]["content"]  # evidence redacted in the prompt


@pytest.mark.docker
def test_llm_episode_end_to_end_in_a_container(chat_server, docker_client, base_image):
    image, _ = ensure_gold_image(docker_client, base_image)
    baseline = measure_baseline(docker_client, image, runs=1)
    chat_server.tool_call("act", {"action": "run_command", "command": f"cat {DEP}", "thought": "look"}, usage=(200, 10))
    chat_server.tool_call("act", "not json at all", usage=(210, 5))
    chat_server.tool_call("act", {"action": "run_command", "command": BREAK}, usage=(300, 20))
    chat_server.tool_call("act", {"action": "finish", "category": "Dependency", "summary": "corrupted tinydep",
                                  "repair_script": REPAIR}, usage=(400, 30))
    events = []
    spec = EpisodeSpec(image=image, baseline=baseline, instance="pytest", owner="episode:llm")
    result = run_episode(docker_client, spec, _agent(chat_server), _context(baseline, budget=Budget(max_steps=8)),
                         emit=lambda *e: events.append(e))
    assert result.status == "succeeded", result.reason
    assert result.finish == Finish("python_dependency", "corrupted tinydep", REPAIR)  # the model's "Dependency"
    assert result.delta == [{"run": BREAK, "ok": True}]
    assert (result.prompt_tokens, result.completion_tokens) == (1110, 65)
    assert [e[0] for e in events].count("error") == 1
    assert sum(e[3] for e in events) == 1110  # per-step tokens add up to the episode's
    tool_results = [m for m in chat_server.requests[3]["messages"] if m["role"] == "tool"]
    assert "newly failing" in tool_results[-1]["content"] and "test_double" in tool_results[-1]["content"]


def test_prompt_offers_catalog_ideas_on_real_paths():
    """Small models need concrete paths: the v2 prompt lists planned catalog faults for this gold."""
    from inversion.engine.episode.agents.base import AgentContext
    from inversion.engine.episode.agents.llm import fault_ideas, load_prompt, system_prompt
    from tests.support.faults_fixture import SURFACE as REAL_SURFACE

    ctx = AgentContext(repository={"name": "fixture"}, baseline={}, surface=REAL_SURFACE, seed=3)
    ideas = fault_ideas(ctx)
    assert ideas.count("\n- [") == 3  # four ideas, each with its category
    assert "run_command:" in ideas and "repair:" in ideas
    seen = "\n".join(fault_ideas(AgentContext(repository={"name": "fixture"}, baseline={}, surface=REAL_SURFACE,
                                                seed=seed)) for seed in range(12))  # seeds rotate the categories
    assert re.search(r"cp -L /usr/lib/x86_64-linux-gnu/(lib\w+\.so\.\d) /opt/[\w-]+/lib/\1", seen)  # a real library
    assert "set_env: LC_ALL=de_DE.UTF-8" in seen
    assert re.search(r"mv /usr/lib/python3.11/lib-dynload/_\w+\.cpython-311-x86_64-linux-gnu.so ", seen)  # a real extension
    assert "def pick(" not in seen and "_PostImport" not in seen  # kilobyte scripts are no ideas
    template, _ = load_prompt("v2")
    assert ideas in system_prompt(ctx, template)
    assert fault_ideas(AgentContext(repository={}, baseline={}, surface={})).startswith("  (no catalog idea")


def test_coach_suggests_the_next_concrete_step_until_tests_fail():
    from inversion.engine.episode.agents.base import Observation
    from inversion.engine.episode.agents.llm import Coach

    ideas = [{"category": "config", "summary": "bad conftest", "repair": "#!/bin/bash\nset -e\nrm x\n",
              "steps": [{"action": "run_command", "command": "echo 'import nope' > /testbed/conftest.py"}]}]
    coach = Coach(ideas)
    refused = Observation("error", {"message": "finish refused: no stably passing test fails yet"})
    assert '"command": "echo \'import nope\' > /testbed/conftest.py"' in coach.hint(refused)
    coach.followed({"action": "run_command", "command": "ls"})  # not the suggestion: nothing moves
    assert "conftest.py" in coach.hint(refused)
    coach.followed({"action": "run_command", "command": "echo 'import nope' > /testbed/conftest.py"})
    failing = Observation("tests", {"newly_failing": ["tests/test_a.py::test_x"]})
    hint = coach.hint(failing)
    assert '"action": "finish"' in hint and '"category": "config"' in hint and "rm x" in hint
    assert coach.hint(refused) == ""  # no idea left to suggest


def test_coach_does_not_offer_an_ideas_repair_for_the_models_own_change():
    from inversion.engine.episode.agents.base import Observation
    from inversion.engine.episode.agents.llm import Coach

    ideas = [{"category": "certificates", "summary": "empty CA bundle", "repair": "cp good bad",
              "steps": [{"action": "run_command", "command": "mkdir -p /etc/ssl/corp"},
                        {"action": "set_env", "name": "SSL_CERT_DIR", "value": "/etc/ssl/corp"}]}]
    coach = Coach(ideas)
    failing = Observation("tests", {"newly_failing": ["tests/test_a.py::test_x"]})
    coach.followed({"action": "run_command", "command": "mkdir -p /etc/ssl/corp"})
    coach.followed({"action": "run_command", "command": "rm /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"})
    assert "finish" not in coach.hint(failing)  # the model broke something of its own
    coach.followed({"action": "set_env", "name": "SSL_CERT_DIR", "value": "/etc/ssl/corp"})
    assert '"repair_script": "cp good bad"' in coach.hint(failing)  # back on the idea: its repair fits
    coach.followed({"action": "run_tests"})  # re-running tests changes nothing
    assert '"repair_script": "cp good bad"' in coach.hint(failing)


def test_unproductive_turn_names_the_run_command_tool(chat_server):
    """After a refused finish, the next request names `run_command` and the reply runs as a command."""
    from inversion.engine.episode.actions import RunCommand
    from inversion.engine.episode.agents.base import AgentContext, Observation
    from inversion.engine.episode.agents.llm import LLMAgent
    from tests.support.faults_fixture import SURFACE as REAL_SURFACE

    agent = LLMAgent(base_url=chat_server.base_url, model=chat_server.model, tool_choice_mode="named")
    agent.start(AgentContext(repository={"name": "fixture"}, baseline={}, surface=REAL_SURFACE, seed=1))
    chat_server.tool_call("run_command", {"command": "ls /opt/venv"})
    decision = agent.next_action(Observation("error", {"message": "finish refused: no stably passing test fails yet"}))
    assert decision.action == RunCommand("ls /opt/venv")
    sent = chat_server.requests[-1]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "run_command"}}
    assert "Suggested next `act` arguments" in sent["messages"][-1]["content"]


@pytest.mark.docker
def test_an_endpoint_that_stays_down_ends_the_episode_as_an_endpoint_error(chat_server, docker_client, base_image):
    """Before: every failed request cost a step, the budget burnt in a second and the episode was
    recorded as "no task". Now the client rides out an outage, then the episode ends in error."""
    from inversion.engine.runtime.llm.client import ChatClient

    image, _ = ensure_gold_image(docker_client, base_image)
    baseline = measure_baseline(docker_client, image, runs=1)
    port = chat_server.port
    chat_server.stop()
    client = ChatClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", model="m", outage_wait=2)
    events = []
    spec = EpisodeSpec(image=image, baseline=baseline, instance="pytest", owner="episode:outage")
    result = run_episode(docker_client, spec, LLMAgent(client=client), _context(baseline, budget=Budget(max_steps=8)),
                         emit=lambda *e: events.append(e))
    assert result.status == "error" and result.steps == 1
    assert result.reason.startswith("endpoint error: the model endpoint is unreachable")
    assert [e[0] for e in events][-2:] == ["error", "status"]


@pytest.mark.docker
def test_a_reply_that_is_not_json_is_fed_back_and_the_episode_goes_on(chat_server, docker_client, base_image):
    image, _ = ensure_gold_image(docker_client, base_image)
    baseline = measure_baseline(docker_client, image, runs=1)
    chat_server.garbage("<html>502 Bad Gateway</html>")
    chat_server.tool_call("act", {"action": "run_command", "command": BREAK})
    chat_server.tool_call("act", {"action": "finish", "category": "dependency", "summary": "s", "repair_script": REPAIR})
    spec = EpisodeSpec(image=image, baseline=baseline, instance="pytest", owner="episode:garbage")
    events = []
    result = run_episode(docker_client, spec, _agent(chat_server), _context(baseline, budget=Budget(max_steps=8)),
                         emit=lambda *e: events.append(e))
    assert result.status == "succeeded", result.reason
    errors = [e[1]["message"] for e in events if e[0] == "error"]
    assert len(errors) == 1 and "not JSON" in errors[0]
