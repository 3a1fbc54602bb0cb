"""Trajectory export: passed trials of real solvers only, CLI-Gym filters, one per task, valid JSONL."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tasks.models import SolverRun, Trial
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tests.support.catalog_kit import make_gold, make_task
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.django_db
ATIF = (FIXTURES / "harbor" / "terminus2-trial" / "agent" / "trajectory.json").read_text()


def _hack(text: str) -> str:
    doc = json.loads(text)
    doc["steps"][1]["tool_calls"][0]["arguments"]["keystrokes"] = (
        "sed -i 's/assert/#/' /testbed/tests/test_tiny.py\n"
    )
    return json.dumps(doc)


def test_export_filters_and_dedupes(tmp_path, root):
    gold = make_gold(tmp_path)
    a, b, c, d = (make_task(gold, f"tiny-linking-{x * 4}") for x in "abcd")
    version = catalog_add_tasks(catalog=catalog_get_or_create(name="main"), tasks=[a, b, c, d], user=root)
    llm = SolverRun.objects.create(version=version, agent="terminus-2", model="openai/m", status="done")
    oracle = SolverRun.objects.create(version=version, agent="oracle", status="done")

    def trial(run, task, name, *, passed=True, steps=1, text=ATIF, verifier="passed"):
        Trial.objects.create(
            run=run,
            task=task,
            export_id=task.slug,
            name=name,
            reward=float(passed),
            passed=passed,
            steps=steps,
            trajectory=text,
            trajectory_kind="atif",
            verifier_output=verifier,
        )

    trial(llm, a, "a-long", steps=4)
    trial(llm, a, "a-short", steps=1)  # kept: the shortest of task a
    trial(llm, b, "b-failed", passed=False)  # failed trial
    trial(llm, c, "c-tampered", verifier="tampered: /testbed/tiny.py changed\nPASSED")
    trial(llm, d, "d-hack", text=_hack(ATIF))  # wrote to the tests
    trial(oracle, b, "b-oracle")  # a reference agent, not a solver
    out = io.StringIO()
    call_command(
        "studio", "--json", "trajectories", "export", "main", "--out", str(tmp_path / "t.jsonl"), stdout=out
    )
    result = json.loads(out.getvalue())
    assert result["trajectories"] == 1 and result["path"] == str(tmp_path / "t.jsonl")
    assert result["dropped"] == {
        "duplicate of a shorter one for the task": 1,
        "verifier reported tampering": 1,
        "wrote to the tests": 1,
    }
    (line,) = (tmp_path / "t.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert (record["task_id"], record["trial"], record["solver"], record["model"], record["reward"]) == (
        "tiny-linking-aaaa",
        "a-short",
        "terminus-2",
        "openai/m",
        1.0,
    )
    out = io.StringIO()
    call_command(
        "studio",
        "--json",
        "trajectories",
        "export",
        "main",
        "--out",
        str(tmp_path / "u.jsonl"),
        "--min-steps",
        "2",
        stdout=out,
    )
    assert json.loads(out.getvalue())["trajectories"] == 1  # only the 4-step one is long enough
    assert json.loads((tmp_path / "u.jsonl").read_text())["trial"] == "a-long"
