"""`studio --json campaign run|status|pause|resume|cancel` through the management command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def _studio(*args: str) -> dict:
    out = io.StringIO()
    call_command("studio", *args, stdout=out)
    return json.loads(out.getvalue())


def test_run_status_and_actions_as_json(projects, tmp_path):
    listing = tmp_path / "sources.txt"
    listing.write_text("".join(f"path:{p}\n" for p in projects))
    started = _studio("campaign", "run", "--sources", str(listing), "--episodes-per-gold", "2", "--json")
    assert started["status"] == "running" and started["episodes_per_gold"] == 2
    assert [s["spec"] for s in started["sources"]] == [f"path:{p}" for p in projects]
    assert started["agent_mix"] == {"builtin": 1} and started["totals"]["valid_tasks"] == 0
    status = _studio("--json", "campaign", "status", str(started["id"]))
    assert status["id"] == started["id"] and status["totals"]["sources"] == 2
    assert _studio("campaign", "pause", str(started["id"]), "--json")["status"] == "paused"
    assert _studio("campaign", "resume", str(started["id"]), "--json")["status"] == "running"
    assert _studio("campaign", "cancel", str(started["id"]), "--json")["status"] == "cancelled"


def test_bad_lines_and_files_are_one_line_errors(tmp_path):
    listing = tmp_path / "sources.txt"
    listing.write_text("six\npypi:six==1.16.0\n")
    with pytest.raises(CommandError, match=r"^1 bad source line: line 1: 'six' is not a pinned requirement"):
        _studio("campaign", "run", "--sources", str(listing), "--json")
    with pytest.raises(CommandError, match="cannot read"):
        _studio("campaign", "run", "--sources", str(tmp_path / "missing.txt"))
    with pytest.raises(CommandError, match="unknown agent 'robot'"):
        listing.write_text("pypi:six==1.16.0\n")
        _studio("campaign", "run", "--sources", str(listing), "--agent", "robot")
