"""A curator pastes a source list (a bad line first: the error names it), starts a campaign and
watches its page update by itself as sources move on (rows changed here play the workers); a
failure shows grouped by reason, escaped; she pauses and cancels. Screenshot: campaign.png."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from inversion.models import EpisodeBatch
from tests.browser.conftest import login, shot
from tests.campaigns.conftest import make_project
from tests.factories import EpisodeFactory, GoldFactory, RepositoryFactory


@pytest.mark.browser
def test_a_curator_starts_a_campaign_and_watches_it_live(live_url, browser, alice, tmp_path):
    projects = [make_project(tmp_path, n) for n in ("calca", "calcb", "calcc")]
    ctx, page = login(browser, live_url, "alice")
    page.goto(f"{live_url}/campaigns/")
    page.fill("textarea[name=sources]", "six\n" + "".join(f"path:{p}\n" for p in projects))
    page.fill("input[name=episodes_per_gold]", "2")
    page.click("#campaign-form button[type=submit]")
    assert "line 1: 'six' is not a pinned requirement" in page.inner_text("#campaign-form")
    page.fill("textarea[name=sources]", "".join(f"path:{p}\n" for p in projects))
    page.fill("input[name=target_tasks]", "10")
    page.click("#campaign-form button[type=submit]")
    page.wait_for_url(f"{live_url}/campaigns/*/")
    campaign = Campaign.objects.get()
    assert page.locator("#campaign-sources tbody tr").count() == 3

    # the workers' part, played on the rows: one source done with tasks, one failed, one running
    first, second, third = campaign.sources.order_by("line")
    gold = GoldFactory(repository=RepositoryFactory(name="calca"), engine="vm-var-run-docker-sock")
    batch = EpisodeBatch.objects.create(config={})
    for status in ("succeeded", "succeeded"):
        EpisodeFactory(gold=gold, batch=batch, status=status)
    first.__class__.objects.filter(pk=first.pk).update(stage="done", gold=gold, batch_ids=[batch.pk],
                                                       reason="2 valid tasks from 2 episodes")
    second.__class__.objects.filter(pk=second.pk).update(stage="failed", reason="fetch: <b>no tests</b> found")
    gold3 = GoldFactory(repository=RepositoryFactory(name="calcc"), engine="vm-run-studio-docker-2-sock")
    batch3 = EpisodeBatch.objects.create(config={})
    EpisodeFactory(gold=gold3, batch=batch3, status="running")
    EpisodeFactory(gold=gold3, batch=batch3, status="error", reason="interrupted: worker lost (vm:1:2)")
    third.__class__.objects.filter(pk=third.pk).update(stage="episodes", gold=gold3, batch_ids=[batch3.pk])
    page.wait_for_function("document.querySelector('#campaign-valid').textContent.trim() === '2'", timeout=15_000)
    assert page.locator("#campaign-sources tr[data-stage=done]").count() == 1
    failures = page.inner_text("#campaign-failures")
    assert "source: fetch: <b>no tests</b> found" in failures  # escaped: shown as text
    assert "episode error: interrupted: worker lost (worker)" in failures
    assert "vm-run-studio-docker-2-sock" in page.inner_text("#campaign-engines")
    shot(page, "campaign")

    page.click("#campaign-actions button:has-text('Pause')")
    assert page.inner_text("#campaign-status") == "paused"
    page.click("#campaign-actions button:has-text('Cancel')")
    assert page.inner_text("#campaign-status") == "cancelled"
    assert "cancelled by alice" in page.inner_text("#campaign-outcome")
    ctx.close()
