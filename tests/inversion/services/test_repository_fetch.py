"""Network sources added from the web form are fetched by a build-queue job: the form answers at
once, the repository page shows the fetch and then its result, a failure says why and can be
retried or deleted, and nothing can be built before the source is there. A local git repository
(file://) stands in for the network: the code path is the one PyPI and git URLs take."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inversion.jobs import repository_fetch_job
from inversion.models import Repository
from inversion.services.golds import gold_prepare
from inversion.services.repositories import repository_add
from studio.lib.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


def _add(client, captured, **data):
    """Post the add form; returns (response, the job ids queued on commit)."""
    with captured(execute=False) as callbacks:
        response = client.post(reverse("repository_list"), data)
    return response, callbacks


def test_git_source_is_fetched_by_a_job_while_the_page_shows_progress(
    alice_client, bare_repo, django_capture_on_commit_callbacks
):
    url, first, _ = bare_repo
    response, callbacks = _add(alice_client, django_capture_on_commit_callbacks, kind="git", location=url, ref="v1")
    repo = Repository.objects.get()
    assert response.status_code == 302 and response.url == reverse("repository_detail", args=[repo.pk])
    assert repo.status == "fetching" and repo.snapshot_path == "" and len(callbacks) == 1

    html = alice_client.get(response.url).content.decode()
    assert 'id="fetch-status"' in html and "?fetching=1" in html
    assert "the source is still being fetched" in html  # the build button says why it is disabled
    with pytest.raises(ApplicationError, match="still being fetched"):
        gold_prepare(repository=repo)

    assert repository_fetch_job(repo.pk) == "ready"
    repo.refresh_from_db()
    assert repo.resolved == first and repo.summary["test_files"] == ["test_a.py"] and repo.error == ""
    assert repository_fetch_job(repo.pk) == "ready"  # a redelivered job finds it claimed and does nothing
    assert Repository.objects.get().snapshot_path == repo.snapshot_path

    panel = alice_client.get(reverse("gold_panel", args=[repo.pk]) + "?fetching=1")
    assert panel["HX-Refresh"] == "true"  # the polling page reloads to show the source's facts
    html = alice_client.get(response.url).content.decode()
    assert 'id="fetch-status"' not in html and first in html and "No gold environment yet." in html


def test_a_failed_fetch_says_why_and_can_be_retried_or_deleted(
    alice_client, bare_repo, django_capture_on_commit_callbacks
):
    url, _, second = bare_repo
    form = {"kind": "git", "location": url, "ref": "no-such-ref", "name": "proj"}
    _add(alice_client, django_capture_on_commit_callbacks, **form)
    repo = Repository.objects.get()
    assert repository_fetch_job(repo.pk) == "failed"
    repo.refresh_from_db()
    assert "no-such-ref" in repo.error
    html = alice_client.get(reverse("repository_detail", args=[repo.pk])).content.decode()
    assert 'id="fetch-error"' in html and "no-such-ref" in html and 'id="delete-repo"' in html
    with pytest.raises(ApplicationError, match="could not be fetched"):
        gold_prepare(repository=repo)

    # Adding the same source again retries the fetch on the same row.
    response, callbacks = _add(alice_client, django_capture_on_commit_callbacks, **form)
    assert response.url == reverse("repository_detail", args=[repo.pk]) and len(callbacks) == 1
    repo.refresh_from_db()
    assert (repo.status, repo.error, repo.fetch_claimed_at) == ("fetching", "", None)
    assert repository_fetch_job(repo.pk) == "failed"

    response = alice_client.post(reverse("repository_delete", args=[repo.pk]))
    assert response.url == reverse("repository_list") and not Repository.objects.exists()
    # A good ref under the freed name now works.
    _add(alice_client, django_capture_on_commit_callbacks, **{**form, "ref": "main"})
    assert repository_fetch_job(Repository.objects.get(name="proj").pk) == "ready"
    assert Repository.objects.get(name="proj").resolved == second


def test_only_failed_repositories_are_deleted_and_only_by_curators(client, alice_client, charlie, tmp_path):
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")
    repo, _ = repository_add(kind="path", location=str(tmp_path))
    response = alice_client.post(reverse("repository_delete", args=[repo.pk]), follow=True)
    assert "only a repository whose fetch failed can be deleted" in response.content.decode()
    Repository.objects.filter(pk=repo.pk).update(status="failed", error="x")
    client.force_login(charlie)
    assert client.post(reverse("repository_delete", args=[repo.pk])).status_code == 403
    assert Repository.objects.filter(pk=repo.pk).exists()


def test_the_synchronous_add_retries_a_failed_source_too(bare_repo):
    url, first, _ = bare_repo
    repo = Repository.objects.create(name="proj", kind="git", spec=f"git:{url}@v1", location=url, ref="v1",
                                     status="failed", error="network down")  # fmt: skip
    again, created = repository_add(kind="git", location=url, ref="v1")
    assert (again.pk, created, again.status, again.resolved, again.error) == (repo.pk, False, "ready", first, "")
