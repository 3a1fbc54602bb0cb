"""Campaigns: start from a source list, the driver step (`campaign_tick`), pause, resume, cancel, wait.

The driver step is idempotent and keeps nothing in memory: it claims the campaign row for a while
(one step at a time, whichever worker runs it), moves every unfinished source as far as it can go,
and ends the campaign when all sources are done or the target of valid tasks is reached. Every
worker process runs due steps beside its heartbeat (`studio.heartbeat`), so a campaign goes on
after any process restarts, and the `campaign_tick_job` starts one at once when a curator acts.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns.models import Campaign, CampaignSource
from campaigns.services.sources import PAUSED, parse_sources, source_advance, source_episodes
from inversion.engine.episode.agents import AGENT_KINDS
from inversion.models import Episode, GoldEnvironment
from inversion.services.episodes import episodes_stop
from inversion.services.workers import engines_live
from studio.lib.db import retry_locked
from studio.lib.exceptions import ApplicationError
from studio.lib.jobs import dispatch

TICK_JOB = "campaigns.jobs.campaign_tick_job"
CLAIM_SECONDS = 120  # a driver step killed mid-way frees the campaign after this


def parse_agent_mix(text: str) -> dict[str, int]:
    """`builtin`, or weights: `builtin=3, llm=1`."""
    mix: dict[str, int] = {}
    for part in (p.strip() for p in (text or "builtin").replace(";", ",").split(",")):
        if not part:
            continue
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in AGENT_KINDS:
            raise ApplicationError(f"unknown agent {name!r} in the agent mix (choose from builtin, llm)",
                                   {"field": "agent_mix"})
        try:
            mix[name] = int(weight) if weight.strip() else 1
        except ValueError as exc:
            raise ApplicationError(f"agent weight {weight!r} is not a number", {"field": "agent_mix"}) from exc
    if not mix or not any(mix.values()) or min(mix.values()) < 0:
        raise ApplicationError("the agent mix needs a positive weight", {"field": "agent_mix"})
    if mix.get("llm") and not (settings.OPENAI_BASE_URL and settings.STUDIO_LLM_MODEL):
        raise ApplicationError("the LLM agent needs OPENAI_BASE_URL and STUDIO_LLM_MODEL", {"field": "agent_mix"})
    return mix


@transaction.atomic
def campaign_start(*, sources: str, episodes_per_gold: int, agent_mix: str | dict = "builtin", directions: str = "",
                   target_tasks: int | None = None, name: str = "", user=None, seed: int | None = None) -> Campaign:
    """Check the whole list first (every bad line named), then create the campaign and its sources
    and queue the first driver step."""
    lines = parse_sources(sources)
    if not 1 <= int(episodes_per_gold) <= 500:
        raise ApplicationError("episodes per gold must be between 1 and 500", {"field": "episodes_per_gold"})
    if target_tasks is not None and int(target_tasks) < 1:
        raise ApplicationError("the target must be at least one task", {"field": "target_tasks"})
    mix = agent_mix if isinstance(agent_mix, dict) else parse_agent_mix(agent_mix)
    campaign = Campaign.objects.create(
        name=(name or f"{len(lines)} sources").strip()[:120], episodes_per_gold=int(episodes_per_gold),
        agent_mix=mix, directions=directions.strip(), target_tasks=target_tasks, created_by=user, seed=seed)
    CampaignSource.objects.bulk_create([CampaignSource(campaign=campaign, line=s.line, spec=s.spec) for s in lines])
    dispatch(TICK_JOB, campaign.pk)
    return campaign


def campaign_tick(*, campaign_id: int) -> str:
    """One driver step (see the module doc); returns what it did, for logs and tests."""
    now = timezone.now()
    free = Q(tick_claimed_until__isnull=True) | Q(tick_claimed_until__lt=now)
    claimed = retry_locked(Campaign.objects.filter(free, pk=campaign_id, status=Campaign.Status.RUNNING).update,
                           tick_claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    if not claimed:
        return "skipped"
    try:
        campaign = Campaign.objects.get(pk=campaign_id)
        engines = {engine: _load(engine) / workers for engine, workers in engines_live().items()}
        for source in campaign.sources.exclude(stage__in=CampaignSource.TERMINAL).order_by("line"):
            source_advance(source=source, campaign=campaign, engines=engines)
        return _finish_if_done(campaign)
    finally:
        retry_locked(Campaign.objects.filter(pk=campaign_id).update, tick_claimed_until=None,
                     ticked_at=timezone.now(), ticks=F("ticks") + 1)


def _load(engine: str) -> float:
    """Work placed on an engine and not finished: golds being built and episodes not ended."""
    golds = GoldEnvironment.objects.filter(engine=engine, status__in=["queued", "building", "testing"]).count()
    return golds + Episode.objects.filter(gold__engine=engine, status__in=Episode.ACTIVE).count()


def campaign_valid_tasks(campaign: Campaign) -> int:
    batches = [b for s in campaign.sources.all() for b in s.batch_ids]
    return Episode.objects.filter(batch_id__in=batches, status=Episode.Status.SUCCEEDED).count() if batches else 0


def _finish_if_done(campaign: Campaign) -> str:
    valid = campaign_valid_tasks(campaign)
    if campaign.target_tasks and valid >= campaign.target_tasks:
        _stop(campaign, f"target reached: {valid} valid tasks", Campaign.Status.FINISHED)
        return "finished"
    if not campaign.sources.exclude(stage__in=CampaignSource.TERMINAL).exists():
        done = campaign.sources.filter(stage=CampaignSource.Stage.DONE).count()
        outcome = f"all {campaign.sources.count()} sources ended ({done} done): {valid} valid tasks"
        retry_locked(Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.RUNNING).update,
                     status=Campaign.Status.FINISHED, outcome=outcome, finished_at=timezone.now())
        return "finished"
    return "advanced"


def _stop(campaign: Campaign, outcome: str, status: str) -> None:
    """End the campaign: unstarted episodes are cancelled (running ones finish, and count), sources
    that had not ended say why they stopped."""
    batches = [b for s in campaign.sources.all() for b in s.batch_ids]
    episodes_stop(batch_ids=batches, reason=f"campaign #{campaign.pk}: {outcome}")
    for source in campaign.sources.exclude(stage__in=CampaignSource.TERMINAL):
        active = source_episodes(source).filter(status__in=Episode.ACTIVE).exists()
        source.stage = CampaignSource.Stage.STOPPED
        source.reason = outcome + ("; its running episodes finish" if active else "")
        source.save(update_fields=["stage", "reason", "updated_at"])
    retry_locked(Campaign.objects.filter(pk=campaign.pk, status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED]).update,
                 status=status, outcome=outcome, finished_at=timezone.now())


def campaign_pause(*, campaign: Campaign, user=None) -> Campaign:
    """No new golds or episodes are placed and episodes not started yet are held back (cancelled as
    `paused:`, not counted: resume launches them again); running ones finish."""
    if not Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.RUNNING).update(status=Campaign.Status.PAUSED):
        raise ApplicationError(f"campaign #{campaign.pk} is not running ({campaign.status})")
    who = getattr(user, "username", "") or "someone"
    batches = [b for s in campaign.sources.all() for b in s.batch_ids]
    episodes_stop(batch_ids=batches, reason=f"{PAUSED} campaign #{campaign.pk} paused by {who}; runs again on resume")
    campaign.refresh_from_db()
    return campaign


def campaign_resume(*, campaign: Campaign, user=None) -> Campaign:
    if not Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.PAUSED).update(status=Campaign.Status.RUNNING):
        raise ApplicationError(f"campaign #{campaign.pk} is not paused ({campaign.status})")
    dispatch(TICK_JOB, campaign.pk)
    campaign.refresh_from_db()
    return campaign


def campaign_cancel(*, campaign: Campaign, user=None) -> Campaign:
    """Queued episodes are cancelled and running ones asked to stop; finished ones and their tasks stay."""
    if not campaign.is_active:
        raise ApplicationError(f"campaign #{campaign.pk} has ended ({campaign.status})")
    who = getattr(user, "username", "") or "someone"
    batches = [b for s in campaign.sources.all() for b in s.batch_ids]
    episodes_stop(batch_ids=batches, reason=f"campaign #{campaign.pk} cancelled by {who}", running=True)
    _stop(campaign, f"cancelled by {who}", Campaign.Status.CANCELLED)
    campaign.refresh_from_db()
    return campaign


def campaigns_tick_due() -> int:
    """Run a driver step for every running campaign whose last step is older than the tick period
    (called beside each worker's heartbeat; the claim keeps it to one step at a time)."""
    due = timezone.now() - timedelta(seconds=settings.STUDIO_CAMPAIGN_TICK)
    ids = list(Campaign.objects.filter(Q(ticked_at__isnull=True) | Q(ticked_at__lt=due), status=Campaign.Status.RUNNING)
               .values_list("pk", flat=True))
    return sum(campaign_tick(campaign_id=pk) != "skipped" for pk in ids)


def campaign_wait(*, campaign: Campaign, timeout: float = 6 * 3600, poll: float = 1.0) -> Campaign:
    """Block until the campaign ends (CLI `--wait`, benches); returns it fresh."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        campaign.refresh_from_db()
        if not campaign.is_active:
            return campaign
        time.sleep(poll)
    raise ApplicationError(f"campaign #{campaign.pk} still {campaign.status} after {timeout:.0f} s")
