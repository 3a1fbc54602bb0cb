"""Episode pages: list filters and yield, the live page snapshot, launch form permissions, escaping."""

import pytest
from django.test import Client
from django.urls import reverse

from inversion.models import EpisodeEvent
from inversion.templatetags.ansi import ansi_to_html
from tests.factories import EpisodeFactory, GoldFactory

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_ansi_is_escaped_before_colouring():
    html = ansi_to_html(f"\x1b[31mFAILED {XSS}\x1b[0m ok\x1b[2K")
    assert html.startswith('<span class="ansi-fg-red">FAILED &lt;script&gt;')
    assert "<script>" not in html and "<img" not in html and "\x1b" not in html
    assert html.endswith("</span> ok")


def test_episode_page_shows_history_and_connects_after_last_seq(alice_client):
    episode = EpisodeFactory()
    EpisodeEvent.objects.create(episode=episode, seq=1, kind="command",
                                payload={"command": "pip uninstall -y six", "output": f"\x1b[32mok\x1b[0m {XSS}",
                                         "exit_code": 0})
    EpisodeEvent.objects.create(episode=episode, seq=2, kind="tests",
                                payload={"counts": {"passed": 3, "failed": 1}, "newly_failing": [f"t::{XSS}"],
                                         "recovered": []})
    html = alice_client.get(reverse("episode_detail", args=[episode.pk])).content.decode()
    assert f'ws-connect="/ws/episodes/{episode.pk}/?after=2"' in html
    assert 'id="ev-1"' in html and 'id="ev-2"' in html
    assert '<span class="ansi-fg-green">ok</span>' in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)" in html
    assert "newly failing (1)" in html and 'id="cancel-episode"' in html


def test_list_filters_by_status_and_shows_yield(alice_client):
    attrs = GoldFactory(repository__name="attrs")
    EpisodeFactory(status="succeeded", gold=attrs)
    EpisodeFactory(status="no_task", gold=attrs)
    EpisodeFactory(status="running", gold__repository__name="six")
    page = alice_client.get(reverse("episode_list")).content.decode()
    assert "50%" in page  # one task made from two finished episodes
    filtered = alice_client.get(reverse("episode_list"), {"repository": "six"}).content.decode()
    table = filtered[filtered.index('id="episode-table"'):]
    assert '<span class="badge running">Running</span>' in table
    assert "attrs" not in table


def test_launch_form_is_for_curators_only(bob, alice_client):
    gold = GoldFactory()
    url = reverse("episode_launch", args=[gold.pk])
    other = Client()
    other.force_login(bob)
    assert other.get(url).status_code == 403
    page = alice_client.get(url)
    assert page.status_code == 200 and 'name="max_steps"' in page.content.decode()
    bad = alice_client.post(url, {"agent": "llm", "model": "", "count": 0, "max_steps": 5, "max_tokens": 0,
                                  "max_minutes": 5})
    assert bad.status_code == 200
    assert "Ensure this value is greater than or equal to 1" in bad.content.decode()


def test_pages_require_login(client):
    episode = EpisodeFactory()
    response = client.get(reverse("episode_detail", args=[episode.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_dashboard_shows_yield_per_repository_and_category(alice_client):
    gold = GoldFactory(repository__name="attrs")
    EpisodeFactory(gold=gold, status="succeeded", category="python_dependency")
    EpisodeFactory(gold=gold, status="no_task", category="python_dependency")
    EpisodeFactory(gold=gold, status="succeeded", category="locale")
    html = alice_client.get("/").content.decode()
    repo_table = html[html.index('id="yield-repository"'):html.index('id="yield-category"')]
    assert "attrs" in repo_table and "67%" in repo_table
    cat_table = html[html.index('id="yield-category"'):]
    assert "python_dependency" in cat_table and "50%" in cat_table


def test_launch_creates_episodes_with_the_budget(alice_client, django_capture_on_commit_callbacks):
    from inversion.models import Episode

    gold = GoldFactory()
    with django_capture_on_commit_callbacks(execute=False):
        response = alice_client.post(reverse("episode_launch", args=[gold.pk]), {
            "agent": "builtin", "count": 1, "max_steps": 7, "max_tokens": 1000, "max_minutes": 3,
            "directions": "break a shared library"})
    episode = Episode.objects.get()
    assert response["Location"] == reverse("episode_detail", args=[episode.pk])
    assert episode.config["budget"]["max_steps"] == 7 and episode.config["budget"]["max_seconds"] == 180
    assert episode.config["directions"] == "break a shared library"
