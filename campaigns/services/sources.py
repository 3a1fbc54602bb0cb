"""Source lists (one spec a line, or a requirements-style file) and how one source of a campaign
moves on: registered -> fetched -> gold on an engine -> its episodes -> done, each step decided
from rows, so whichever worker runs the next driver step continues where the last one stopped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, CampaignSource
from inversion.models import Episode, GoldEnvironment, Repository
from inversion.services.episodes import (
    episode_batch_launch,
    episode_dispatch,
    episode_validation_dispatch,
    episodes_stop,
)
from inversion.services.golds import gold_dispatch, gold_prepare
from inversion.services.repositories import canonical_spec, parse_spec, repository_register
from studio.lib.exceptions import ApplicationError
from studio.lib.jobs import dispatch

FETCH_JOB = "inversion.jobs.repository_fetch_job"
MAX_GOLDS = 3  # a gold lost with its engine is built again elsewhere, this many times in all
MOVED = "moved:"  # reason prefix of episodes cancelled because their engine went away (not counted)
PAUSED = "paused:"  # ... because the campaign was paused before they started (not counted, run on resume)
UNCOUNTED = (MOVED, PAUSED)
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([A-Za-z0-9.+!_-]+)$")


@dataclass(frozen=True)
class SourceLine:
    line: int
    spec: str


def parse_sources(text: str) -> list[SourceLine]:
    """Specs (`pypi:`/`git:`/`path:`) or requirement lines (`name==1.2`, `git+URL@REF`), one a line;
    `#` comments and blank lines skipped. Every bad line is reported at once, with its number."""
    found: list[SourceLine] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        try:
            spec = _spec_of(line)
        except ApplicationError as exc:
            errors.append(f"line {n}: {exc.message}")
            continue
        if spec in seen:
            errors.append(f"line {n}: {spec} repeats line {seen[spec]}")
            continue
        seen[spec] = n
        found.append(SourceLine(n, spec))
    if errors:
        raise ApplicationError(f"{len(errors)} bad source line{'s' if len(errors) > 1 else ''}: " + "; ".join(errors),
                               {"field": "sources", "lines": errors})
    if not found:
        raise ApplicationError("the source list is empty: one pypi:NAME==VER, git:URL@REF or path:DIR a line",
                               {"field": "sources"})
    return found


def _spec_of(line: str) -> str:
    if line.startswith("-"):
        raise ApplicationError(f"pip options are not supported ({line.split()[0]}); list the sources themselves")
    if line.startswith("git+"):
        line = "git:" + line[4:]
    elif ":" not in line.split("==")[0]:
        match = REQUIREMENT.match(line)
        if not match:
            raise ApplicationError(f"{line!r} is not a pinned requirement: write NAME==VERSION "
                                   "(a campaign builds exact releases)")
        line = f"pypi:{match.group(1)}=={match.group(3)}"
    kind, location, ref = parse_spec(line)
    if kind == "pypi" and not ref:
        raise ApplicationError(f"{line!r} has no version: write pypi:NAME==VERSION")
    if kind == "path" and not (Path(location).is_absolute() and Path(location).is_dir()):
        raise ApplicationError(f"{location!r} is not an existing absolute directory")
    return canonical_spec(kind, location, ref)


def split_counts(count: int, mix: dict[str, int]) -> dict[str, int]:
    """`count` episodes shared by the agent mix's weights (largest remainder, ties by name)."""
    total = sum(mix.values())
    exact = {agent: count * weight / total for agent, weight in sorted(mix.items()) if weight > 0}
    counts = {agent: int(share) for agent, share in exact.items()}
    for agent in sorted(exact, key=lambda a: (counts[a] - exact[a], a))[: count - sum(counts.values())]:
        counts[agent] += 1
    return {agent: n for agent, n in counts.items() if n}


def source_episodes(source: CampaignSource):
    return Episode.objects.filter(batch_id__in=source.batch_ids or [-1])


def _fail(source: CampaignSource, reason: str, stage: str = CampaignSource.Stage.FAILED) -> None:
    source.stage, source.reason = stage, reason[:2000]
    source.save(update_fields=["stage", "reason", "updated_at"])


def _move(source: CampaignSource, stage: str, reason: str = "") -> None:
    source.stage, source.reason = stage, reason
    source.save(update_fields=["stage", "reason", "updated_at"])


def source_advance(*, source: CampaignSource, campaign: Campaign, engines: dict[str, float]) -> None:
    """One driver step for one source: as far as it can go now (several stages at once when they are
    ready). `engines` (live engine -> load) is updated with the work placed here."""
    try:
        if source.stage == CampaignSource.Stage.PENDING:
            _register(source, campaign)
        if source.stage == CampaignSource.Stage.FETCHING:
            _fetched(source)
        if source.stage == CampaignSource.Stage.BUILDING:
            _build(source, campaign, engines)
        if source.stage == CampaignSource.Stage.EPISODES:
            _episodes(source, campaign, engines)
    except ApplicationError as exc:
        _fail(source, exc.message)


def _register(source: CampaignSource, campaign: Campaign) -> None:
    kind, location, ref = parse_spec(source.spec)
    existing = Repository.objects.filter(spec=source.spec).first()
    if existing and existing.status == Repository.Status.READY:
        repo = existing
    else:
        repo, _ = repository_register(kind=kind, location=location, ref=ref, user=campaign.created_by)
    source.repository = repo
    source.save(update_fields=["repository", "updated_at"])
    _move(source, CampaignSource.Stage.FETCHING)


def _fetched(source: CampaignSource) -> None:
    repo = Repository.objects.get(pk=source.repository_id)
    if repo.status == Repository.Status.READY:
        _move(source, CampaignSource.Stage.BUILDING)
    elif repo.status == Repository.Status.FAILED:
        _fail(source, f"fetch: {repo.error}")
    elif repo.fetch_claimed_at is None and _stale(source):
        dispatch(FETCH_JOB, repo.pk)  # a broker that forgot it (embedded restart): the fetch claims once


def _stale(source: CampaignSource) -> bool:
    """Queued work of this source may be lost with a restarted in-memory broker or a dead worker's
    reserved messages: send it again now and then (every job claims its row, so twice is harmless)."""
    period = timedelta(seconds=settings.STUDIO_CAMPAIGN_REDISPATCH)
    now = timezone.now()
    if source.updated_at > now - period or (source.redispatched_at and source.redispatched_at > now - period):
        return False
    source.redispatched_at = now
    source.save(update_fields=["redispatched_at"])
    return True


def pick_engine(engines: dict[str, float]) -> str | None:
    return min(sorted(engines), key=lambda e: engines[e]) if engines else None


def _build(source: CampaignSource, campaign: Campaign, engines: dict[str, float]) -> None:
    gold = GoldEnvironment.objects.filter(pk=source.gold_id).first() if source.gold_id else None
    if gold is None:
        if source.golds_tried >= MAX_GOLDS:
            _fail(source, f"gold: gave up after {source.golds_tried} golds lost with their engines")
            return
        engine = pick_engine(engines)
        if engine is None:
            _move(source, CampaignSource.Stage.BUILDING, "waiting for a live worker")
            return
        repo = Repository.objects.get(pk=source.repository_id)
        gold = gold_prepare(repository=repo, engine=engine)
        source.gold, source.golds_tried, source.reason = gold, source.golds_tried + 1, ""
        source.save(update_fields=["gold", "golds_tried", "reason", "updated_at"])
        engines[engine] += 1 + campaign.episodes_per_gold
        if gold.status == GoldEnvironment.Status.QUEUED:
            gold_dispatch(gold=gold)
            return
    if gold.status == GoldEnvironment.Status.READY:
        _move(source, CampaignSource.Stage.EPISODES)
    elif gold.status == GoldEnvironment.Status.FAILED:
        if gold.error.startswith("interrupted") and source.golds_tried < MAX_GOLDS:
            _lose_gold(source, f"gold #{gold.pk}: {gold.error}; building it again")
        else:
            _fail(source, f"gold {gold.failure_kind or 'failed'}: {gold.error}")
    elif gold.status == GoldEnvironment.Status.QUEUED and gold.engine not in engines and engines:
        lost = GoldEnvironment.objects.filter(pk=gold.pk, status=GoldEnvironment.Status.QUEUED).update(
            status=GoldEnvironment.Status.FAILED, error=f"interrupted: engine {gold.engine} has no live worker",
            finished_at=timezone.now())
        if lost:
            _lose_gold(source, f"engine {gold.engine} has no live worker: gold built again on another engine")
    elif gold.status == GoldEnvironment.Status.QUEUED and _stale(source):
        gold_dispatch(gold=gold)


def _lose_gold(source: CampaignSource, reason: str) -> None:
    source.gold = None
    source.save(update_fields=["gold", "updated_at"])
    _move(source, CampaignSource.Stage.BUILDING, reason)


def counted_episodes(source: CampaignSource) -> int:
    """Episodes that count towards the source's share: all but those moved off a lost engine or
    held back by a pause (they are launched again)."""
    episodes = source_episodes(source)
    for prefix in UNCOUNTED:
        episodes = episodes.exclude(status=Episode.Status.CANCELLED, reason__startswith=prefix)
    return episodes.count()


def _episodes(source: CampaignSource, campaign: Campaign, engines: dict[str, float]) -> None:
    gold = GoldEnvironment.objects.get(pk=source.gold_id)
    episodes = source_episodes(source)
    if gold.engine and gold.engine not in engines and engines and episodes.filter(status=Episode.Status.QUEUED).exists():
        reason = f"{MOVED} engine {gold.engine} has no live worker; run again on another engine"
        episodes_stop(batch_ids=source.batch_ids, reason=reason)
        _lose_gold(source, f"engine {gold.engine} lost: its queued episodes move to another engine")
        return
    _launch(source, campaign, gold)
    if not source_episodes(source).filter(status__in=Episode.ACTIVE).exists():
        valid = source_episodes(source).filter(status=Episode.Status.SUCCEEDED).count()
        _move(source, CampaignSource.Stage.DONE, f"{valid} valid task{'s' if valid != 1 else ''} "
                                                   f"from {counted_episodes(source)} episodes")
    elif _stale(source):  # a broker restart or a lost message: queued runs and unclaimed validations again
        for episode in source_episodes(source).filter(status=Episode.Status.QUEUED).select_related("gold"):
            episode_dispatch(episode=episode)
        unclaimed = source_episodes(source).filter(status=Episode.Status.VALIDATING, validation_claimed_at__isnull=True)
        for episode in unclaimed.select_related("gold"):
            episode_validation_dispatch(episode=episode)


@transaction.atomic
def _launch(source: CampaignSource, campaign: Campaign, gold: GoldEnvironment) -> None:
    """Launch what is missing of the source's episodes, once: the row is locked while counting and
    the batch ids are stored in the same transaction as the episodes."""
    locked = CampaignSource.objects.select_for_update().get(pk=source.pk)
    needed = campaign.episodes_per_gold - counted_episodes(locked)
    if needed <= 0 or campaign.status != Campaign.Status.RUNNING:
        return
    done = campaign.episodes_per_gold - needed
    for agent, count in split_counts(needed, campaign.agent_mix).items():
        seed = None if campaign.seed is None else campaign.seed + 1000 * source.line + done
        made = episode_batch_launch(golds=[gold], count=count, agent=agent, directions=campaign.directions,
                                    user=campaign.created_by, seed=seed)
        done += count
        locked.batch_ids = [*locked.batch_ids, made[0].batch_id]
    locked.save(update_fields=["batch_ids", "updated_at"])
    source.batch_ids = locked.batch_ids
