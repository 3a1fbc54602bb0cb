"""A campaign over two small local projects completes in the embedded mode: the in-process worker
fetches, builds both golds on the real engine, runs the built-in agent's episodes and validates them,
driven only by the workers' driver steps (nothing here calls a step)."""

from __future__ import annotations

import pytest

from campaigns.selectors.campaigns import campaign_report
from campaigns.services.campaigns import campaign_start, campaign_wait
from inversion.models import Episode
from studio.embedded import start_embedded_worker, stop_embedded_worker

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def embedded_worker(docker_client, base_image):
    start_embedded_worker()
    yield
    stop_embedded_worker()


def test_a_campaign_over_two_fixture_projects_completes_embedded(embedded_worker, projects, alice):
    campaign = campaign_start(sources="\n".join(f"path:{p}" for p in projects), episodes_per_gold=1, user=alice,
                              seed=0)
    campaign = campaign_wait(campaign=campaign, timeout=600)
    report = campaign_report(campaign=campaign)
    assert campaign.status == "finished", report
    assert [r["stage"] for r in report["sources"]] == ["done", "done"], report["sources"]
    assert all(r["gold_status"] == "ready" and r["episodes"] == 1 for r in report["sources"])
    episodes = Episode.objects.filter(gold_id__in=[r["gold_id"] for r in report["sources"]])
    assert episodes.count() == 2 and not episodes.filter(status__in=Episode.ACTIVE).exists()
    assert report["totals"]["valid_tasks"] == episodes.filter(status="succeeded").count() >= 1
    assert all(e.reason or e.failed_rule for e in episodes.exclude(status="succeeded"))  # every failure explained
    assert sum(f["count"] for f in report["failures"]) == episodes.exclude(status="succeeded").count()
    assert campaign.outcome.startswith("all 2 sources ended (2 done)")
