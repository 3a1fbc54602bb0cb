"""ATIF -> SFT chat messages and the trajectory filters, on a trial Harbor 0.25.0 really wrote
(terminus-2 against the loopback chat server: tests/fixtures/harbor/terminus2-trial)."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.engine import atif
from tasks.engine.harbor import read_trial

TRIAL = Path(__file__).resolve().parents[2] / "fixtures" / "harbor" / "terminus2-trial"
TEXT = (TRIAL / "agent" / "trajectory.json").read_text()


def test_read_trial_flattens_harbors_files():
    trial = read_trial(TRIAL)
    assert trial is not None and trial.passed
    assert (trial.task, trial.reward, trial.exception) == ("tiny-fix", 1.0, "")
    assert (trial.input_tokens, trial.output_tokens) == (2820, 110)
    assert trial.trajectory_kind == "atif" and trial.steps == 1  # one acting turn, then "done" twice
    assert 20 < trial.seconds < 30 and "passed" in trial.verifier_output


def test_read_trial_waits_for_result_json(tmp_path):
    (tmp_path / "agent").mkdir()
    assert read_trial(tmp_path) is None
    (tmp_path / "result.json").write_text('{"task_name": "x", "tri')  # half-written
    assert read_trial(tmp_path) is None


def test_messages_answer_every_tool_call():
    doc = atif.load(TEXT)
    messages = atif.to_messages(doc)
    assert messages[0]["role"] == "user" and "command-line tasks" in messages[0]["content"]
    first = messages[1]
    assert first["role"] == "assistant" and first["content"].startswith(
        "Analysis: The flag file says broken."
    )
    calls = first["tool_calls"]
    assert [json.loads(c["function"]["arguments"])["keystrokes"] for c in calls] == [
        "cat /opt/flag\n",
        "echo ok > /opt/flag && cat /opt/flag\n",
    ]
    replies = messages[2:4]
    assert [m["tool_call_id"] for m in replies] == [c["id"] for c in calls]
    assert (
        replies[0]["content"] == "" and "broken" in replies[1]["content"]
    )  # the terminal after both commands
    for i, m in enumerate(messages):  # the OpenAI format: each assistant call is answered right after it
        if m.get("tool_calls"):
            assert [r["tool_call_id"] for r in messages[i + 1 : i + 1 + len(m["tool_calls"])]] == [
                c["id"] for c in m["tool_calls"]
            ]
    record = atif.sft_record(
        doc, task="tiny-fix", solver="terminus-2", model="openai/fake-model", reward=1.0, trial="t1"
    )
    assert record["steps"] == 1 and json.loads(json.dumps(record)) == record


def test_filters_tampering_and_test_edits():
    doc = atif.load(TEXT)
    assert atif.touched_protected(doc) == []
    hacked = json.loads(TEXT)
    hacked["steps"][1]["tool_calls"][0]["arguments"]["keystrokes"] = (
        "echo 'def test_x(): pass' > /testbed/tests/test_a.py\n"
    )
    assert atif.touched_protected(hacked) == ["echo 'def test_x(): pass' > /testbed/tests/test_a.py"]
    assert (
        atif.touched_protected(
            {"steps": [{"tool_calls": [{"arguments": {"keystrokes": "cat tests/test_a.py"}}]}]}
        )
        == []
    )
    assert atif.tampered_lines("ok\ntampered: /testbed/six.py changed\n") == [
        "tampered: /testbed/six.py changed"
    ]
    out = "tampered: /testbed/six/__init__.py added\ntampered: /testbed/six.py changed\n"  # the fault's own, then not
    assert atif.tampered_lines(out, own=["/testbed/six/__init__.py"]) == ["tampered: /testbed/six.py changed"]
    assert atif.load("== oracle.txt ==\nplain log") is None and atif.step_count("not json") == 0
