"""Review and catalog pages: escaping of untrusted text, stale saves, actions through the UI."""

import pytest
from django.test import Client
from django.urls import reverse

from tasks.models import Task, ValidationRun
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_review_page_escapes_issue_text_test_names_and_outputs(alice_client):
    task = TaskFactory(text=f"# Broken\n\n{XSS}\n\n[x](javascript:alert(3))",
                       fail_to_pass=[f"tests/t.py::test_{XSS}"], failure_excerpts={f"tests/t.py::test_{XSS}": XSS})
    ValidationRun.objects.create(task=task, rule="broken", ok=True, outcomes={f"t::{XSS}": "failed"}, log=XSS)
    html = alice_client.get(reverse("task_detail", args=[task.pk])).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    assert 'href="javascript' not in html
    assert "<h1>Broken</h1>" in html  # the preview renders markdown
    assert "&lt;script&gt;" in html


def test_preview_endpoint_sanitises(alice_client):
    task = TaskFactory(text="x")
    html = alice_client.post(reverse("task_preview", args=[task.pk]), {"instruction": f"**b** {XSS}"}).content.decode()
    assert "<strong>b</strong>" in html and "<script" not in html and "onerror" not in html


def test_stale_save_is_refused_with_the_other_text(alice_client, alice):
    task = TaskFactory(text="first")
    url = reverse("task_edit", args=[task.pk])
    ok = alice_client.post(url, {"instruction": "newer", "instruction_hard": "newer hard", "base_version": 1})
    assert ok.status_code == 302
    stale = alice_client.post(url, {"instruction": "mine", "instruction_hard": "mine hard", "base_version": 1})
    html = stale.content.decode()
    assert stale.status_code == 409
    assert "Your text was not saved" in html and "newer hard" in html and ">mine</textarea>" in html
    task.refresh_from_db()
    assert task.version == 2 and task.current_revision.instruction == "newer"


def test_reviewer_approves_through_the_page(alice_client, bob):
    task = TaskFactory(text="first")
    alice_client.post(reverse("task_action", args=[task.pk, "submit"]))
    client = Client()
    client.force_login(bob)
    page = client.get(reverse("task_detail", args=[task.pk])).content.decode()
    assert 'id="approve"' in page and 'id="save-text"' not in page
    client.post(reverse("task_action", args=[task.pk, "approve"]))
    task.refresh_from_db()
    assert task.state == Task.State.APPROVED
    catalog = client.get(reverse("catalog_list")).content.decode()
    assert task.slug in catalog


def test_curator_cannot_approve(alice_client):
    task = TaskFactory(text="first", state="in_review")
    response = alice_client.post(reverse("task_action", args=[task.pk, "approve"]), follow=True)
    assert "Only reviewers approve tasks" in response.content.decode()
    task.refresh_from_db()
    assert task.state == Task.State.IN_REVIEW


def test_task_list_filters(alice_client):
    TaskFactory(slug="attrs-dependency-aaaaaa", difficulty="hard")
    TaskFactory(slug="six-dependency-bbbbbb", difficulty="easy")
    html = alice_client.get(reverse("task_list"), {"difficulty": "hard"}).content.decode()
    assert "attrs-dependency-aaaaaa" in html and "six-dependency-bbbbbb" not in html


def test_catalog_pages_add_version_and_guard_downloads(alice_client, tmp_path, settings):
    from tasks.models import Catalog, CatalogVersion, Export

    task = TaskFactory(text="first", state="approved", tags=["net"])
    response = alice_client.post(reverse("catalog_add"), {"task": [task.pk], "catalog": "main"})
    catalog = Catalog.objects.get(name="main")
    assert response.status_code == 302 and response["Location"] == reverse("catalog_detail", args=[catalog.pk])
    page = alice_client.get(reverse("catalog_detail", args=[catalog.pk])).content.decode()
    assert task.slug in page and "v1" in page
    assert task.slug in alice_client.get(reverse("catalog_list"), {"tag": "net"}).content.decode()
    assert task.slug not in alice_client.get(reverse("catalog_list"), {"tag": "other"}).content.decode()
    version = CatalogVersion.objects.get(catalog=catalog)
    outside = tmp_path / "secret.zip"
    outside.write_bytes(b"PK")
    export = Export.objects.create(version=version, status="done", path=str(outside))
    assert alice_client.get(reverse("export_download", args=[export.pk])).status_code == 404
    inside = settings.STUDIO_EXPORTS_DIR / "main-v1.zip"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_bytes(b"PK-data")
    export.path = str(inside)
    export.save()
    download = alice_client.get(reverse("export_download", args=[export.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"PK-data"


def test_review_page_shows_the_rules_and_every_hack_tried(alice_client):
    hacks = [{"name": "shadow_pytest_module", "summary": "a pytest.py in the project root", "applied": True,
              "reward": 0, "caught_by": "tampered: /testbed/pytest.py added"},
             {"name": "ld_preload_exit", "summary": "an ld.so.preload hook", "applied": False, "reward": None,
              "caught_by": "does not apply to this image"}]
    task = TaskFactory(text="x", validation={"rules": {"hacks": {"ok": True, "detail": "all 1 applied hacks scored 0"},
                                                       "nop": {"ok": True, "detail": "reward 0"}}, "hacks": hacks})
    html = alice_client.get(reverse("task_detail", args=[task.pk])).content.decode()
    table = html[html.index('id="hacks"'):]
    assert "shadow_pytest_module" in table and "tampered: /testbed/pytest.py added" in table
    assert '<span class="badge passed">0</span>' in table and '<span class="badge skipped">n/a</span>' in table
    rules = html[html.index('id="validation-rules"'):]
    assert "all 1 applied hacks scored 0" in rules and "<strong>nop</strong>" in rules
