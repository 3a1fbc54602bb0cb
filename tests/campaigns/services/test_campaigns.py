"""The driver step over rows (no Docker: builds and episodes are played by updating their rows):
each stage once, episodes launched once however often it runs, engines chosen by load, a lost
engine's queued episodes moved, the target, pause and cancel."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, CampaignSource
from campaigns.services.campaigns import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_tick,
)
from campaigns.services.sources import source_episodes
from inversion.models import Episode, GoldEnvironment, Repository, Worker
from inversion.services.repositories import repository_fetch
from studio.lib.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


def _start(projects, alice, **kw) -> Campaign:
    sources = "\n".join(f"path:{p}" for p in projects)
    return campaign_start(sources=sources, episodes_per_gold=kw.pop("episodes", 2), user=alice, **kw)


def _fetch_all(campaign: Campaign) -> None:
    for repo in Repository.objects.filter(status=Repository.Status.FETCHING):
        repository_fetch(repository=repo)


def _golds_ready(campaign: Campaign) -> None:
    GoldEnvironment.objects.filter(status="queued").update(status="ready", baseline={"stable_passing": ["t::a"]})


def _end_episodes(campaign: Campaign, status: str = "succeeded", limit: int | None = None) -> None:
    ids = list(Episode.objects.filter(status="queued").order_by("pk").values_list("pk", flat=True))[:limit]
    Episode.objects.filter(pk__in=ids).update(status=status)


def test_a_campaign_walks_every_source_through_each_stage_once(projects, alice, lease):
    lease("enga")
    lease("engb")
    campaign = _start(projects, alice)
    assert campaign_tick(campaign_id=campaign.pk) == "advanced"
    assert set(campaign.sources.values_list("stage", flat=True)) == {"fetching"}
    _fetch_all(campaign)
    campaign_tick(campaign_id=campaign.pk)
    golds = GoldEnvironment.objects.order_by("pk")
    assert [g.status for g in golds] == ["queued", "queued"]
    assert sorted(g.engine for g in golds) == ["enga", "engb"]  # placed by load: one per engine
    _golds_ready(campaign)
    for _ in range(3):  # however often the step runs, each source's episodes are launched once
        campaign_tick(campaign_id=campaign.pk)
    assert Episode.objects.count() == 4
    assert all(len(s.batch_ids) == 1 for s in campaign.sources.all())
    _end_episodes(campaign, "succeeded", limit=3)
    _end_episodes(campaign, "no_task")
    assert campaign_tick(campaign_id=campaign.pk) == "finished"
    campaign.refresh_from_db()
    assert campaign.status == "finished" and campaign.outcome == "all 2 sources ended (2 done): 3 valid tasks"
    assert sorted(campaign.sources.values_list("reason", flat=True)) == [
        "1 valid task from 2 episodes", "2 valid tasks from 2 episodes"]
    assert campaign_tick(campaign_id=campaign.pk) == "skipped"


def test_a_held_claim_makes_a_second_step_skip(projects, alice, lease):
    from django.utils import timezone

    lease("enga")
    campaign = _start(projects, alice)
    Campaign.objects.filter(pk=campaign.pk).update(tick_claimed_until=timezone.now() + timezone.timedelta(seconds=60))
    assert campaign_tick(campaign_id=campaign.pk) == "skipped"
    assert set(campaign.sources.values_list("stage", flat=True)) == {"pending"}


def test_without_a_live_worker_golds_wait(projects, alice):
    campaign = _start(projects[:1], alice)
    campaign_tick(campaign_id=campaign.pk)
    _fetch_all(campaign)
    campaign_tick(campaign_id=campaign.pk)
    source = campaign.sources.get()
    assert (source.stage, source.reason, source.gold_id) == ("building", "waiting for a live worker", None)


def test_a_lost_engines_queued_episodes_move_to_a_live_engine(projects, alice, lease):
    dying = lease("enga")
    campaign = _start(projects[:1], alice, episodes=3)
    campaign_tick(campaign_id=campaign.pk)
    _fetch_all(campaign)
    campaign_tick(campaign_id=campaign.pk)
    _golds_ready(campaign)
    campaign_tick(campaign_id=campaign.pk)
    _end_episodes(campaign, "error", limit=1)  # one ended on the engine before it went away
    Worker.objects.filter(pk=dying.pk).update(stopped_at=dying.heartbeat_at)
    lease("engb")
    campaign_tick(campaign_id=campaign.pk)
    source = campaign.sources.get()
    assert source.stage == "building" and "engine enga lost" in source.reason
    moved = source_episodes(source).filter(status="cancelled")
    assert moved.count() == 2 and all(e.reason.startswith("moved: engine enga") for e in moved)
    campaign_tick(campaign_id=campaign.pk)
    gold = GoldEnvironment.objects.get(pk=campaign.sources.get().gold_id)
    assert gold.engine == "engb" and gold.status == "queued"
    _golds_ready(campaign)
    campaign_tick(campaign_id=campaign.pk)
    source.refresh_from_db()
    # two new episodes on engine B make up the share; the one that ended on A still counts
    assert source_episodes(source).filter(status="queued", gold__engine="engb").count() == 2
    assert source_episodes(source).count() == 5


def test_reaching_the_target_stops_the_campaign_and_cancels_unstarted_episodes(projects, alice, lease):
    lease("enga")
    campaign = _start(projects, alice, episodes=3, target_tasks=1)
    campaign_tick(campaign_id=campaign.pk)
    _fetch_all(campaign)
    campaign_tick(campaign_id=campaign.pk)
    _golds_ready(campaign)
    campaign_tick(campaign_id=campaign.pk)
    _end_episodes(campaign, "succeeded", limit=1)
    first = Episode.objects.filter(status="queued").order_by("pk").first()
    Episode.objects.filter(pk=first.pk).update(status="running")
    assert campaign_tick(campaign_id=campaign.pk) == "finished"
    campaign.refresh_from_db()
    assert campaign.status == "finished" and campaign.outcome == "target reached: 1 valid tasks"
    assert Episode.objects.filter(status="queued").count() == 0
    assert Episode.objects.filter(status="running").count() == 1  # running work finishes and still counts
    assert set(campaign.sources.values_list("stage", flat=True)) == {"stopped"}


def test_pause_resume_and_cancel(projects, alice, lease):
    lease("enga")
    campaign = _start(projects, alice)
    campaign_pause(campaign=campaign)
    assert campaign_tick(campaign_id=campaign.pk) == "skipped"
    with pytest.raises(ApplicationError, match="not running"):
        campaign_pause(campaign=campaign)
    campaign_resume(campaign=campaign)
    campaign_tick(campaign_id=campaign.pk)
    _fetch_all(campaign)
    campaign_tick(campaign_id=campaign.pk)
    _golds_ready(campaign)
    campaign_tick(campaign_id=campaign.pk)
    first = Episode.objects.order_by("pk").first()
    Episode.objects.filter(pk=first.pk).update(status="running")
    campaign_pause(campaign=campaign, user=alice)  # unstarted episodes are held back, the running one goes on
    assert Episode.objects.filter(status="cancelled", reason__startswith="paused: ").count() == 3
    assert Episode.objects.filter(status="running").count() == 1
    campaign_resume(campaign=campaign)
    campaign_tick(campaign_id=campaign.pk)
    assert Episode.objects.filter(status="queued").count() == 3  # launched again, none lost
    Episode.objects.filter(pk=first.pk).update(status="succeeded")
    campaign = campaign_cancel(campaign=campaign, user=alice)
    assert campaign.status == "cancelled" and campaign.outcome == "cancelled by alice"
    assert Episode.objects.filter(status="succeeded").count() == 1  # finished work is kept
    assert Episode.objects.filter(status="cancelled").exclude(reason__startswith="paused:").count() == 3
    assert set(CampaignSource.objects.values_list("stage", flat=True)) == {"stopped"}
    with pytest.raises(ApplicationError, match="has ended"):
        campaign_cancel(campaign=campaign)


def test_a_source_that_cannot_be_fetched_fails_with_the_reason(tmp_path, alice, lease):
    lease("enga")
    empty = tmp_path / "empty"
    empty.mkdir()
    campaign = campaign_start(sources=f"path:{empty}", episodes_per_gold=1, user=alice)
    campaign_tick(campaign_id=campaign.pk)
    _fetch_all(campaign)
    assert campaign_tick(campaign_id=campaign.pk) == "finished"
    source = campaign.sources.get()
    assert source.stage == "failed" and source.reason.startswith("fetch: ")


def test_queued_work_a_broker_forgot_is_sent_again_after_a_while(projects, alice, lease, monkeypatch, settings):
    """An embedded restart empties the memory broker: the next driver steps re-send queued jobs
    (claims make a duplicate harmless), but not at every step."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.services import sources as src

    sent: list[int] = []
    monkeypatch.setattr(src, "gold_dispatch", lambda *, gold: sent.append(gold.pk))
    lease("enga")
    campaign = _start(projects[:1], alice)
    campaign_tick(campaign_id=campaign.pk)
    _fetch_all(campaign)
    campaign_tick(campaign_id=campaign.pk)
    assert len(sent) == 1  # the first dispatch
    campaign_tick(campaign_id=campaign.pk)
    assert len(sent) == 1  # the source moved just now: not stale
    old = timezone.now() - timedelta(seconds=settings.STUDIO_CAMPAIGN_REDISPATCH + 5)
    CampaignSource.objects.update(updated_at=old)
    campaign_tick(campaign_id=campaign.pk)
    campaign_tick(campaign_id=campaign.pk)
    assert len(sent) == 2 and sent[0] == sent[1]  # once more, the same gold


def test_a_validation_a_broker_lost_is_sent_again(projects, alice, lease, monkeypatch, settings):
    """The episode ended and its hand-over to validation was lost (the broker was away): the episode
    waits `validating`, unclaimed; a later driver step sends the validation again."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.services import sources as src

    sent: list[int] = []
    monkeypatch.setattr(src, "episode_validation_dispatch", lambda *, episode: sent.append(episode.pk))
    lease("enga")
    campaign = _start(projects[:1], alice, episodes=1)
    campaign_tick(campaign_id=campaign.pk)
    _fetch_all(campaign)
    campaign_tick(campaign_id=campaign.pk)
    _golds_ready(campaign)
    campaign_tick(campaign_id=campaign.pk)
    episode = Episode.objects.get()
    Episode.objects.filter(pk=episode.pk).update(status="validating")
    campaign_tick(campaign_id=campaign.pk)
    assert sent == []
    CampaignSource.objects.update(updated_at=timezone.now() - timedelta(seconds=settings.STUDIO_CAMPAIGN_REDISPATCH + 5))
    campaign_tick(campaign_id=campaign.pk)
    assert sent == [episode.pk]
