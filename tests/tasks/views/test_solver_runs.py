"""Solver-run pages: login everywhere, only curators/reviewers start or cancel runs, the task page
lists trials, trajectories download as JSONL / zip, untrusted text is escaped."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tasks.models import SolverRun, Trial
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tests.support.catalog_kit import make_gold, make_task
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.django_db
ATIF = (FIXTURES / "harbor" / "terminus2-trial" / "agent" / "trajectory.json").read_text()


@pytest.fixture
def run(tmp_path, root):
    gold = make_gold(tmp_path)
    task = make_task(gold, "tiny-linking-aaaa")
    version = catalog_add_tasks(catalog=catalog_get_or_create(name="main"), tasks=[task], user=root)
    run = SolverRun.objects.create(
        version=version,
        agent="terminus-2",
        model="openai/m",
        attempts=1,
        tasks_total=1,
        trials_total=1,
        status="done",
        trials_done=1,
        trials_passed=1,
    )
    Trial.objects.create(
        run=run,
        task=task,
        export_id=task.slug,
        name="t1",
        reward=1.0,
        passed=True,
        steps=1,
        trajectory=ATIF,
        trajectory_kind="atif",
        verifier_output="<b>passed</b>",
    )
    return run


def test_pages_need_login(client, run):
    for url in (
        f"/solver-runs/{run.pk}/",
        f"/trials/{run.trials.get().pk}/",
        f"/catalogs/{run.version.catalog_id}/trajectories/",
    ):
        assert client.get(url).status_code == 302


def test_only_curators_and_reviewers_start_and_cancel(client, charlie, bob, run):
    client.force_login(charlie)
    url = f"/catalogs/versions/{run.version_id}/solve/"
    assert client.post(url, {"agent": "nop", "attempts": 1, "concurrency": 1}).status_code == 403
    assert client.post(f"/solver-runs/{run.pk}/cancel/").status_code == 403
    client.force_login(bob)
    response = client.post(url, {"agent": "nop", "attempts": 1, "concurrency": 1})
    new = SolverRun.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/solver-runs/{new.pk}/"
    assert client.post(f"/solver-runs/{new.pk}/cancel/").status_code == 302
    new.refresh_from_db()
    assert new.status == "cancelled" and new.created_by == bob


def test_the_form_takes_agent_options_and_the_run_page_shows_them(client, bob, run):
    client.force_login(bob)
    url = f"/catalogs/versions/{run.version_id}/solve/"
    form = {"agent": "terminus-2", "model": "openai/m", "attempts": 1, "concurrency": 1}
    refused = client.post(url, {**form, "agent_options": "parser_name"}, follow=True)
    assert "is not KEY=VALUE" in refused.content.decode() and SolverRun.objects.count() == 1
    response = client.post(url, {**form, "agent_options": "parser_name=xml, temperature=0.2"})
    new = SolverRun.objects.exclude(pk=run.pk).get()
    assert new.agent_options == {"parser_name": "xml", "temperature": "0.2"}
    page = client.get(response["Location"]).content.decode()
    assert "<code>parser_name=xml</code>" in page and "<code>temperature=0.2</code>" in page


def test_task_page_lists_trials_and_the_trajectory_is_escaped(alice_client, run):
    trial = run.trials.get()
    page = alice_client.get(f"/tasks/{trial.task_id}/").content.decode()
    assert f"/trials/{trial.pk}/" in page and "terminus-2:openai/m" in page
    page = alice_client.get(f"/trials/{trial.pk}/").content.decode()
    assert "&lt;b&gt;passed&lt;/b&gt;" in page and "<b>passed</b>" not in page


def test_trajectories_download(alice_client, run):
    response = alice_client.get(f"/catalogs/{run.version.catalog_id}/trajectories/")
    (line,) = response.content.decode().splitlines()
    assert json.loads(line)["task_id"] == "tiny-linking-aaaa"
    assert alice_client.get(f"/catalogs/{run.version.catalog_id}/trajectories/?min_steps=2").content == b""
    raw = alice_client.get(f"/catalogs/{run.version.catalog_id}/trajectories/?format=raw").content
    assert zipfile.ZipFile(io.BytesIO(raw)).namelist() == ["tiny-linking-aaaa/t1.trajectory.json"]
