"""The CLI's habits: `--json` wherever it is typed, list verbs, one-line errors (a database that is
not migrated, a git source that does not clone), from a real process where it matters."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import EpisodeFactory, GoldFactory, RepositoryFactory
from tests.support.paths import ROOT

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("studio", *args, stdout=out)
    return out.getvalue()


def test_json_is_accepted_before_after_and_between_the_words(tmp_path):
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    added = json.loads(_run("repo", "add", f"path:{tmp_path}", "--json"))
    for args in (("--json", "repo", "list"), ("repo", "--json", "list"), ("repo", "list", "--json")):
        assert json.loads(_run(*args))["repositories"][0]["id"] == added["id"]
    assert _run("repo", "list").splitlines()[0].split() == ["id", "name", "status", "gold", "gold_status", "source"]


def test_list_verbs_show_golds_and_episodes():
    gold = GoldFactory(repository=RepositoryFactory(name="attrs"), baseline={"counts": {"passed": 7}})
    EpisodeFactory(gold=gold, status="succeeded", category="locale", task_pk=12)
    EpisodeFactory(gold=gold, status="no_task", failed_rule="nop")
    golds = json.loads(_run("gold", "list", "--repo", "attrs", "--json"))["golds"]
    assert [(g["id"], g["repo_name"], g["baseline"]["passed"]) for g in golds] == [(gold.pk, "attrs", 7)]
    episodes = json.loads(_run("episodes", "list", "--gold", str(gold.pk), "--json"))["episodes"]
    assert [(e["status"], e["task_id"], e["failed_rule"]) for e in episodes] == [
        ("no_task", None, "nop"), ("succeeded", 12, None)]
    assert json.loads(_run("episodes", "list", "--status", "succeeded", "--json"))["episodes"][0]["category"] == "locale"


def test_a_git_source_that_does_not_clone_says_why_in_one_line(tmp_path):
    with pytest.raises(CommandError) as exc:
        _run("repo", "add", f"git:file://{tmp_path}/missing.git@main")
    message = str(exc.value)
    assert message == f"could not clone file://{tmp_path}/missing.git: '{tmp_path}/missing.git' does not appear to be a git repository"


@pytest.mark.django_db(transaction=True)
def test_a_database_that_is_not_migrated_is_one_line_not_a_traceback(tmp_path):
    env = {**os.environ, "STUDIO_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "studio.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3"}
    proc = subprocess.run([sys.executable, "manage.py", "studio", "repo", "list", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: the database is not migrated (")
    assert lines[0].endswith("migrations pending): run `manage.py migrate` first")
