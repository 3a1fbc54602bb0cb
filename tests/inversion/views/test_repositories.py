"""Repository pages: adding (curators only, inline errors), the detail page with the gold panel."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from inversion.models import Repository
from tests.factories import GoldFactory, RepositoryFactory
from tests.support.paths import FIXTURES

BASELINE = {
    "counts": {"passed": 2, "failed": 0, "error": 0, "skipped": 1, "flaky": 1, "total": 4},
    "runs": [{"seconds": 1.0, "exit_code": 0, "counts": {}}] * 2,
    "flaky": ["tests/test_x.py::test_<flip>"],
    "slowest": [{"id": "tests/test_x.py::test_slow", "duration": 1.5}],
}


@pytest.mark.django_db
def test_curator_adds_a_local_repository_and_a_job_copies_it_with_progress(alice_client, tmp_path):
    from inversion.jobs import repository_fetch_job

    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")
    response = alice_client.post(reverse("repository_list"), {"kind": "path", "location": str(tmp_path)})
    repo = Repository.objects.get()
    assert response.status_code == 302 and response.url == reverse("repository_detail", args=[repo.pk])
    assert repo.status == "fetching"
    assert repository_fetch_job(repo.pk) == "ready"
    repo.refresh_from_db()
    assert repo.fetch_progress == "copied 1 files (0.0 MB)"
    page = alice_client.get(response.url)
    assert page.status_code == 200 and repo.spec in page.content.decode() and repo.resolved in page.content.decode()


@pytest.mark.django_db
def test_bad_input_is_shown_inline_and_nothing_is_created(alice_client, tmp_path):
    response = alice_client.post(reverse("repository_list"), {"kind": "path", "location": str(tmp_path / "no")})
    assert response.status_code == 400
    assert "is not a directory" in response.content.decode()
    response = alice_client.post(reverse("repository_list"), {"kind": "git", "location": "file:///x.git"})
    assert "git needs a ref" in response.content.decode()
    assert Repository.objects.count() == 0


@pytest.mark.django_db
def test_only_curators_add_or_build(client, charlie, tmp_path):
    client.force_login(charlie)
    assert "Add repository" not in client.get(reverse("repository_list")).content.decode()
    response = client.post(reverse("repository_list"), {"kind": "path", "location": str(tmp_path)})
    assert response.status_code == 403
    repo = RepositoryFactory()
    assert client.post(reverse("gold_build", args=[repo.pk])).status_code == 403
    assert client.post(reverse("repository_overrides", args=[repo.pk]), {"test_cmd": "x"}).status_code == 403


@pytest.mark.django_db
def test_detail_shows_baseline_log_stream_and_escapes_output(alice_client):
    gold = GoldFactory(baseline=BASELINE, surface={"modules": {"stdlib": ["os"], "site": [], "project": []},
                                                   "shared_libs": [], "executables": []})
    gold.log_events.create(seq=1, text="<script>alert(1)</script>\n")
    html = alice_client.get(reverse("repository_detail", args=[gold.repository_id])).content.decode()
    assert f'ws-connect="/ws/golds/{gold.pk}/?after=1"' in html and 'id="build-log"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "test_&lt;flip&gt;" in html and "tests/test_x.py::test_slow" in html
    assert "1 stdlib modules" in html
    assert reverse("episode_launch", args=[gold.pk]) in html
    assert "Rebuild" in html


@pytest.mark.django_db
def test_overrides_are_saved_and_used_for_the_next_dockerfile(alice_client, tmp_path):
    from inversion.services.repositories import repository_add

    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")
    repo, _ = repository_add(kind="path", location=str(tmp_path))
    alice_client.post(reverse("repository_overrides", args=[repo.pk]),
                      {"install_cmd": "pip install pytest==8.3.3", "test_cmd": "python -m pytest -x"})
    repo.refresh_from_db()
    assert repo.test_cmd == "python -m pytest -x"
    page = alice_client.get(reverse("repository_detail", args=[repo.pk])).content.decode()
    assert "RUN pip install pytest==8.3.3" in page


@pytest.mark.django_db
def test_build_button_is_disabled_with_the_reason_when_docker_is_down(alice_client, settings, monkeypatch):
    from studio.lib import dockerctx

    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    monkeypatch.setattr(dockerctx, "_cache", None)
    repo = RepositoryFactory()
    html = alice_client.get(reverse("repository_detail", args=[repo.pk])).content.decode()
    assert 'id="build-disabled-reason"' in html and "Docker is unreachable" in html
    assert "disabled" in html.split('id="gold-panel"')[1].split("Build gold")[0]
    monkeypatch.setattr(dockerctx, "_cache", None)


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_build_button_runs_the_build_job_and_the_page_shows_the_reason(alice_client, docker_client, base_image):
    import shutil
    import tempfile
    from pathlib import Path

    from inversion.jobs import gold_build_job, repository_fetch_job

    fixture = FIXTURES / "gold_broken"
    tmp = tempfile.mkdtemp()
    shutil.copytree(fixture, Path(tmp) / "broken-ui")
    alice_client.post(reverse("repository_list"), {"kind": "path", "location": f"{tmp}/broken-ui"})
    repo = Repository.objects.get()
    assert repository_fetch_job(repo.pk) == "ready"
    shutil.rmtree(tmp)
    response = alice_client.post(reverse("gold_build", args=[repo.pk]))  # queues the job
    gold = repo.golds.get()
    assert gold.status in ("queued", "building")  # an embedded worker left by earlier tests may take it
    gold_build_job(gold.pk)  # what the build-queue worker runs; a second executor finds it claimed
    assert response.status_code == 302
    deadline = time.monotonic() + 600
    while gold.status not in ("ready", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        gold.refresh_from_db()
    assert gold.status == "failed"
    assert gold.log_events.exists() and "baseline run 2/2" in gold.build_log
    html = alice_client.get(reverse("repository_detail", args=[repo.pk])).content.decode()
    assert "0 of 2 tests pass: ModuleNotFoundError: No module named &#x27;studio_missing_dependency&#x27;" in html
    assert "Launch episodes" not in html
