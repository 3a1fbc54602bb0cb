"""ChatClient against a real HTTP server speaking Chat Completions: what goes on the wire, what
comes back, and that model misbehaviour becomes an error message instead of an exception."""

from __future__ import annotations

import time

import pytest

from inversion.engine.runtime.llm import ChatClient, parse_json_leniently

RUN = {
    "type": "function",
    "function": {
        "name": "run_command",
        "description": "Run a shell command",
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    },
}
FINISH = {
    "type": "function",
    "function": {
        "name": "finish",
        "parameters": {"type": "object", "properties": {"summary": {"type": "string"}}},
    },
}
MESSAGES = [{"role": "system", "content": "You break things."}, {"role": "user", "content": "Go."}]


def make_client(server, **kwargs) -> ChatClient:
    return ChatClient(base_url=server.base_url, api_key="k", model="m", **kwargs)


def test_auto_mode_sends_tool_choice_auto_and_parses_tool_call_and_usage(chat_server):
    chat_server.tool_call("run_command", {"command": "ls /"}, usage=(321, 12))
    reply = make_client(chat_server, max_tokens=77).complete(MESSAGES, [RUN, FINISH])
    sent = chat_server.last_request
    assert sent["tool_choice"] == "auto"
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["run_command", "finish"]
    assert sent["messages"] == MESSAGES and sent["max_tokens"] == 77 and sent["model"] == "m"
    assert reply.error == ""
    assert [(call.name, call.arguments) for call in reply.tool_calls] == [
        ("run_command", {"command": "ls /"})
    ]
    assert (reply.prompt_tokens, reply.completion_tokens) == (321, 12)


def test_named_mode_sends_the_requested_tool_or_the_single_tool(chat_server):
    chat_server.tool_call("finish", {"summary": "done"}).tool_call("run_command", {"command": "id"})
    client = make_client(chat_server, tool_choice_mode="named")
    reply = client.complete(MESSAGES, [RUN, FINISH], tool_name="finish")
    assert chat_server.last_request["tool_choice"] == {"type": "function", "function": {"name": "finish"}}
    assert reply.tool_calls[0].arguments == {"summary": "done"}
    client.complete(MESSAGES, [RUN])
    assert chat_server.last_request["tool_choice"] == {
        "type": "function",
        "function": {"name": "run_command"},
    }


def test_named_mode_without_a_name_among_many_tools_is_a_programming_error(chat_server):
    with pytest.raises(ValueError):
        make_client(chat_server, tool_choice_mode="named").complete(MESSAGES, [RUN, FINISH])
    with pytest.raises(ValueError):
        make_client(chat_server).complete(MESSAGES, [RUN], tool_name="nope")
    assert chat_server.requests == []


def test_no_tools_sends_no_tool_choice_and_returns_text(chat_server):
    chat_server.text("An issue text.")
    reply = make_client(chat_server).complete(MESSAGES)
    assert "tools" not in chat_server.last_request and "tool_choice" not in chat_server.last_request
    assert (reply.content, reply.tool_calls, reply.error) == ("An issue text.", [], "")


@pytest.mark.parametrize(
    "content",
    [
        'Sure!\n```json\n{"command": "rm -f /usr/lib/x.so",}\n```',
        "{'command': 'rm -f /usr/lib/x.so'}",
        'I will now run {"command": "rm -f /usr/lib/x.so"} to break it.',
        '<tool_call>\n{"name": "run_command", "arguments": {"command": "rm -f /usr/lib/x.so"}}\n</tool_call>',
    ],
)
def test_text_instead_of_tool_call_is_recovered(chat_server, content):
    chat_server.text(content)
    reply = make_client(chat_server, tool_choice_mode="named").complete(MESSAGES, [RUN])
    assert reply.error == ""
    assert reply.tool_calls[0].name == "run_command"
    assert reply.tool_calls[0].arguments == {"command": "rm -f /usr/lib/x.so"}


def test_broken_tool_arguments_are_repaired_or_reported(chat_server):
    chat_server.tool_call("run_command", "{'command': 'ls', }")
    chat_server.tool_call("run_command", '{"command": "ls')
    client = make_client(chat_server)
    assert client.complete(MESSAGES, [RUN]).tool_calls[0].arguments == {"command": "ls"}
    broken = client.complete(MESSAGES, [RUN])
    assert broken.tool_calls[0].arguments is None
    assert broken.tool_calls[0].raw_arguments == '{"command": "ls'
    assert "not a JSON object" in broken.tool_calls[0].error and broken.error == broken.tool_calls[0].error


def test_unknown_tool_and_prose_without_json_are_errors_to_feed_back(chat_server):
    chat_server.tool_call("format_disk", {}).text("I think we should look around first.")
    client = make_client(chat_server)
    unknown = client.complete(MESSAGES, [RUN, FINISH])
    assert "unknown tool 'format_disk'" in unknown.error and "run_command" in unknown.error
    prose = client.complete(MESSAGES, [RUN, FINISH])
    assert prose.content.startswith("I think") and prose.tool_calls == []
    assert "no tool call" in prose.error and "finish" in prose.error


def test_empty_reply_http_500_no_choices_and_timeout_are_errors_not_exceptions(chat_server):
    chat_server.empty(usage=(40, 0)).error(500, "model exploded").raw({"id": "x", "choices": []})
    chat_server.text("late", delay=1.5)
    client = make_client(chat_server, timeout=0.5)
    empty = client.complete(MESSAGES, [RUN])
    assert "empty reply" in empty.error and empty.prompt_tokens == 40
    failed = client.complete(MESSAGES, [RUN])
    assert "HTTP 500" in failed.error and "model exploded" in failed.error
    assert "no choices" in client.complete(MESSAGES, [RUN]).error
    assert "did not answer" in client.complete(MESSAGES, [RUN]).error
    assert len(chat_server.requests) == 4  # no silent retries eating the budget


def test_an_unreachable_endpoint_is_retried_with_backoff_then_an_outage(chat_server):
    port = chat_server.port
    chat_server.stop()
    started = time.monotonic()
    reply = ChatClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="", model="m", outage_wait=3).complete(MESSAGES)
    assert reply.outage and reply.error.startswith("the model endpoint is unreachable")
    assert 3 <= time.monotonic() - started < 10  # 1 + 2 s of backoff, then it gives up


def test_an_outage_that_ends_is_ridden_out_and_a_body_that_is_not_json_is_a_bad_reply(chat_server):
    chat_server.error(503, "loading model").text("back")
    assert ChatClient(base_url=chat_server.base_url, api_key="", model="m", outage_wait=5).complete(MESSAGES).content == "back"
    chat_server.garbage("<html>502 bad gateway</html>")
    reply = make_client(chat_server).complete(MESSAGES)
    assert not reply.outage and reply.error.startswith("the model endpoint sent a reply that is not JSON")


def test_several_tool_calls_in_one_reply(chat_server):
    chat_server.tool_calls([("run_command", {"command": "a"}), ("finish", {"summary": "s"})])
    reply = make_client(chat_server).complete(MESSAGES, [RUN, FINISH])
    assert [call.name for call in reply.tool_calls] == ["run_command", "finish"]
    assert len({call.id for call in reply.tool_calls}) == 2


def test_fallback_answers_when_the_script_runs_out(chat_server):
    chat_server.set_fallback("tool_call", "finish", {"summary": "again"})
    client = make_client(chat_server)
    for _ in range(3):
        assert client.complete(MESSAGES, [RUN, FINISH]).tool_calls[0].arguments == {"summary": "again"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": [1, 2,],}\n```', {"a": [1, 2]}),
        ("{'a': None, 'b': True}", {"a": None, "b": True}),
        ("{'a': null, 'b': true}", {"a": None, "b": True}),
        ('Answer: {"cmd": "echo {x}"} -- done', {"cmd": "echo {x}"}),
        ("no json here", None),
        ("[1, 2]", None),
        ("", None),
    ],
)
def test_parse_json_leniently(text, expected):
    assert parse_json_leniently(text) == expected


def test_client_from_settings_uses_settings_and_per_episode_overrides(settings, chat_server):
    from inversion.services.llm import client_from_settings
    from studio.lib.exceptions import ApplicationError

    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.STUDIO_LLM_MODEL = "", "", ""
    with pytest.raises(ApplicationError, match="no LLM endpoint"):
        client_from_settings()
    settings.OPENAI_BASE_URL, settings.STUDIO_LLM_MODEL = chat_server.base_url, "from-settings"
    settings.STUDIO_LLM_TOOL_CHOICE = "named"
    chat_server.tool_call("run_command", {"command": "true"}).text("ok")
    client_from_settings().complete(MESSAGES, [RUN])
    assert chat_server.last_request["model"] == "from-settings"
    assert chat_server.last_request["tool_choice"]["function"]["name"] == "run_command"
    client_from_settings({"model": "per-episode", "tool_choice_mode": "auto", "base_url": ""}).complete(
        MESSAGES, [RUN]
    )
    assert (
        chat_server.last_request["model"] == "per-episode"
        and chat_server.last_request["tool_choice"] == "auto"
    )
    with pytest.raises(ApplicationError, match="bad LLM settings"):
        client_from_settings({"tool_choice_mode": "sometimes"})


def test_null_content_is_left_out_because_llama_cpp_rejects_it(chat_server):
    chat_server.text("ok")
    call = {"id": "c1", "type": "function", "function": {"name": "run_command", "arguments": "{}"}}
    history = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
        {"role": "assistant", "content": None},
    ]
    make_client(chat_server).complete(history, [RUN])
    sent = chat_server.last_request["messages"]
    assert sent[2] == {"role": "assistant", "tool_calls": [call]}
    assert sent[4] == {"role": "assistant", "content": ""}
    assert history[2]["content"] is None  # the caller's list is not modified
