"""Episodes: launch batches, run one (the `episode` queue job), cancel, wait for a batch.

Events are rows first, broadcasts second (`services.events`). A successful episode hands over
to the validate queue by job *name*, so inversion never imports tasks.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inversion.engine.episode.agents import AGENT_KINDS, agent_class
from inversion.engine.episode.agents.base import AgentContext, Budget
from inversion.engine.episode.loop import EpisodeSpec, run_episode
from inversion.engine.runtime.grading import stable_passing
from inversion.models import Episode, EpisodeBatch, GoldEnvironment
from inversion.selectors.episodes import (
    episode_blind_layers,
    episode_dead_ends,
    episode_hiders,
    episode_lone_layers,
    episode_no_targets,
    episode_used_signatures,
    episode_used_themes,
)
from inversion.services.events import episode_event_add
from studio.lib.db import retry_locked
from studio.lib.dockerctx import docker_client
from studio.lib.exceptions import ApplicationError
from studio.lib.jobs import dispatch, engine_queue
from studio.lib.workers import worker_id

RUN_JOB = "inversion.jobs.episode_run_job"
MATERIALIZE_JOB = "tasks.jobs.task_materialize_job"  # the tasks app validates; handed over by name
BASELINE_SAMPLE = 300


BUDGET_ALIASES = {"steps": ("max_steps", 1), "tokens": ("max_tokens", 1), "minutes": ("max_seconds", 60),
                  "seconds": ("max_seconds", 1)}


def _budget(raw: dict | None, faults: int = 1) -> dict:
    """A full Budget dict; accepts the form's `steps`/`tokens`/`minutes` as well as field names. The
    default steps and wall time scale with the faults asked for (each layer is several steps)."""
    fields = asdict(Budget())
    fields["max_steps"] *= max(1, faults)
    fields["max_seconds"] *= max(1, faults)
    for key, value in (raw or {}).items():
        name, scale = BUDGET_ALIASES.get(key, (key, 1))
        if name in fields and value not in (None, ""):
            fields[name] = type(fields[name])(value * scale)
    return fields


@transaction.atomic
def episode_batch_launch(*, golds: list[GoldEnvironment], count: int, agent: str, model: str = "",
                         budget: dict | None = None, directions: str = "", user=None,
                         base_url: str | None = None, seed: int | None = None, faults: int = 1,
                         network: bool = False, whole_share: float | None = None) -> list[Episode]:
    """N episodes on each gold, queued on the `episode` queue (workers bound the concurrency).
    `faults` (1..3) asks for compound breaks; `network` lets episodes reach the package index;
    `whole_share` (0-1, default 0.3) caps the share of a gold's tasks that fail its whole suite
    (the built-in agent; 1 turns the cap off)."""
    if agent not in AGENT_KINDS:
        raise ApplicationError(f"unknown agent {agent!r}", {"agent": agent})
    if not golds:
        raise ApplicationError("choose at least one gold environment")
    if not 1 <= count <= 500:
        raise ApplicationError("count must be between 1 and 500")
    if not 1 <= int(faults) <= 3:
        raise ApplicationError("faults must be between 1 and 3", {"faults": faults})
    if whole_share is not None and not 0 <= float(whole_share) <= 1:
        raise ApplicationError("whole_share must be between 0 and 1", {"whole_share": whole_share})
    not_ready = [g.pk for g in golds if g.status != GoldEnvironment.Status.READY]
    if not_ready:
        raise ApplicationError(f"gold environments not ready: {not_ready}", {"golds": not_ready})
    model = model or (settings.STUDIO_LLM_MODEL if agent == "llm" else "")
    base_url = base_url or (settings.OPENAI_BASE_URL if agent == "llm" else "")
    if agent == "llm" and not (model and base_url):
        raise ApplicationError("the LLM agent needs a model and a base URL (OPENAI_BASE_URL, STUDIO_LLM_MODEL)")
    seed = random.randrange(1 << 30) if seed is None else seed
    config = {"budget": _budget(budget, faults=int(faults)), "directions": directions.strip(), "base_url": base_url or "", "seed": seed,
              "faults": int(faults), "network": bool(network)}
    if whole_share is not None:
        config["whole_share"] = float(whole_share)
    batch = EpisodeBatch.objects.create(config={**config, "count": count, "agent": agent, "model": model,
                                                "golds": [g.pk for g in golds]}, created_by=user)
    episodes = []
    for gold in golds:
        for i in range(count):
            episodes.append(Episode.objects.create(
                gold=gold, batch=batch, agent=agent, model=model, created_by=user,
                config={**config, "seed": seed + i}))
    for episode in episodes:
        episode_dispatch(episode=episode)
    return episodes


def episode_validation_dispatch(*, episode: Episode) -> None:
    """Queue the validation of a broken episode where its gold's image is (`validate@<engine>`): it
    rebuilds from that image. Sent again when a broker lost it, it finds its claim and returns."""
    engine = episode.gold.engine
    dispatch(MATERIALIZE_JOB, episode.pk, queue=engine_queue("validate", engine) if engine else None)


def episode_dispatch(*, episode: Episode) -> None:
    """Queue a run where its gold's image is: the gold's engine queue (`episode@<engine>`)."""
    engine = episode.gold.engine
    dispatch(RUN_JOB, episode.pk, queue=engine_queue("episode", engine) if engine else None)


def episode_cancel(*, episode: Episode, user=None) -> Episode:
    """Ask a running episode to stop (polled between steps); a queued one stops at once."""
    if not episode.is_active:
        raise ApplicationError(f"episode #{episode.pk} is not running ({episode.status})")
    updated = Episode.objects.filter(pk=episode.pk, status=Episode.Status.QUEUED).update(
        status=Episode.Status.CANCELLED, cancel_requested=True, reason="cancelled before it started",
        finished_at=timezone.now())
    if not updated:
        Episode.objects.filter(pk=episode.pk).update(cancel_requested=True)
    who = getattr(user, "username", "") or "someone"
    episode_event_add(episode_id=episode.pk, kind="status",
                      payload={"status": "cancelling", "message": f"cancel requested by {who}"})
    episode.refresh_from_db()
    return episode


def episodes_stop(*, batch_ids: list[int], reason: str, running: bool = False) -> int:
    """End the queued episodes of these batches with `reason` (each claimed by one conditional
    update, so a worker that starts one meanwhile keeps it); `running` also asks running ones to stop."""
    queued = list(Episode.objects.filter(batch_id__in=batch_ids, status=Episode.Status.QUEUED).values_list("pk", flat=True))
    stopped = 0
    for pk in queued:
        if retry_locked(Episode.objects.filter(pk=pk, status=Episode.Status.QUEUED).update,
                        status=Episode.Status.CANCELLED, cancel_requested=True, reason=reason, finished_at=timezone.now()):
            episode_event_add(episode_id=pk, kind="status", payload={"status": "cancelled", "message": reason})
            stopped += 1
    if running:
        retry_locked(Episode.objects.filter(batch_id__in=batch_ids, status=Episode.Status.RUNNING).update,
                     cancel_requested=True)
    return stopped


def _context(episode: Episode) -> AgentContext:
    gold, repo, cfg = episode.gold, episode.gold.repository, episode.config or {}
    baseline = gold.baseline or {}
    stable = stable_passing(baseline)
    return AgentContext(
        repository={"name": repo.name, "spec": repo.spec, "summary": repo.summary},
        baseline={"counts": baseline.get("counts", {}), "stable_passing": stable[:BASELINE_SAMPLE],
                  "stable_total": len(stable), "flaky": baseline.get("flaky", [])},
        surface=gold.surface or {}, directions=cfg.get("directions", ""),
        used_themes=episode_used_themes(repository_id=repo.pk), budget=Budget(**_budget(cfg.get("budget"))),
        seed=int(cfg.get("seed", episode.pk)), test_cmd=gold.test_cmd or "python -m pytest",
        used_signatures=episode_used_signatures(gold_id=gold.pk, exclude=episode.pk),
        used_now=lambda: retry_locked(episode_used_signatures, gold_id=gold.pk, exclude=episode.pk),
        dead_ends=episode_dead_ends(gold_id=gold.pk, exclude=episode.pk),
        lone_layers=episode_lone_layers(gold_id=gold.pk, exclude=episode.pk),
        no_targets=episode_no_targets(gold_id=gold.pk, exclude=episode.pk),
        hiders=episode_hiders(gold_id=gold.pk, exclude=episode.pk),
        blind_layers=episode_blind_layers(gold_id=gold.pk, exclude=episode.pk),
        faults=int(cfg.get("faults") or 1), whole_share=cfg.get("whole_share"),
        network=bool(cfg.get("network")))


def _agent(episode: Episode):
    cls = agent_class(episode.agent)
    if episode.agent == "llm":
        from inversion.services.llm import client_from_settings

        client = client_from_settings({**(episode.config or {}), "model": episode.model})
        return cls(client=client)
    return cls()


def episode_run(*, episode: Episode, handoff: bool = True) -> Episode:
    """Run the loop for a queued episode and record the outcome; hands valid breaks to validation
    (the validate queue) unless `handoff` is False, when the caller validates itself."""
    claimed = retry_locked(Episode.objects.filter(pk=episode.pk, status=Episode.Status.QUEUED).update,
                           status=Episode.Status.RUNNING, started_at=timezone.now(), worker=worker_id())
    if not claimed:
        return episode  # cancelled before it started, or another worker has it
    episode.refresh_from_db()
    gold = episode.gold

    held: list[dict] = []  # the loop's closing status event: stored once the row says so (`_record`)

    def emit(kind: str, payload: dict, duration_ms: int, prompt_tokens: int, completion_tokens: int) -> None:
        event = {"kind": kind, "payload": payload, "duration_ms": duration_ms,
                 "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        if kind == "status" and payload.get("status") != "running":
            held.append(event)
            return
        episode_event_add(episode_id=episode.pk, **event)

    def should_cancel() -> bool:
        return retry_locked(Episode.objects.filter(pk=episode.pk, cancel_requested=True).exists)

    spec = EpisodeSpec(image=gold.image or gold.image_id, baseline=gold.baseline or {}, instance=settings.STUDIO_INSTANCE,
                       owner=f"episode:{episode.pk}", test_cmd=gold.test_cmd or "python -m pytest",
                       worker=worker_id(), network="host" if (episode.config or {}).get("network") else "none")
    client = docker_client()
    try:
        try:
            agent = _agent(episode)
            result = run_episode(client, spec, agent, _context(episode), emit=emit, should_cancel=should_cancel)
        except Exception as exc:  # agent construction failed: recorded like any other error
            episode.status, episode.reason = Episode.Status.ERROR, str(exc)[:2000]
            episode.finished_at = timezone.now()
            episode.save()
            emit("error", {"message": f"{type(exc).__name__}: {exc}"[:2000]}, 0, 0, 0)
            return episode
    finally:
        client.close()
    return _record(episode, result, handoff=handoff, held=held)


def _record(episode: Episode, result, *, handoff: bool, held: list[dict] | None = None) -> Episode:
    """Store the episode's outcome, then its closing status event (`held`): a live viewer renders the
    status beside that event from the row, so the row must say it first (else the page could show the
    episode running, with no tokens, for good: the local-model browser test waited 12 minutes so),
    then hand a break to validation, whose events follow."""
    status = {"succeeded": Episode.Status.VALIDATING, "no_task": Episode.Status.NO_TASK,
              "cancelled": Episode.Status.CANCELLED}.get(result.status, Episode.Status.ERROR)
    finish = result.finish
    episode.status, episode.reason = status, result.reason[:2000]
    episode.steps, episode.container_id = result.steps, result.container_id
    episode.prompt_tokens, episode.completion_tokens = result.prompt_tokens, result.completion_tokens
    episode.result = result.as_dict()
    if finish is not None:
        episode.category, episode.fault_family = finish.category[:60], finish.fault_family[:80]
        episode.summary, episode.repair_script = finish.summary, finish.repair_script
    if status != Episode.Status.VALIDATING:
        episode.finished_at = timezone.now()
    retry_locked(episode.save)
    for event in held or []:
        episode_event_add(episode_id=episode.pk, **event)
    if status == Episode.Status.VALIDATING and handoff:
        episode_validation_dispatch(episode=episode)
    return episode


def episode_batch_wait(*, episodes: list[Episode], timeout: float = 3600, poll: float = 0.5) -> list[Episode]:
    """Block until every episode has left the active states (CLI, bench); returns them fresh."""
    ids = [e.pk for e in episodes]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not retry_locked(Episode.objects.filter(pk__in=ids, status__in=Episode.ACTIVE).exists):
            break
        time.sleep(poll)
    else:
        raise ApplicationError(f"episodes still running after {timeout:.0f} s", {"episodes": ids})
    return list(Episode.objects.filter(pk__in=ids).order_by("pk"))


def episode_batch_run(*, gold: GoldEnvironment, count: int, agent: str, model: str = "", base_url: str = "",
                      budget: dict | None = None, directions: str = "", seed: int | None = None,
                      timeout: float = 3600, user=None, faults: int = 1, network: bool = False,
                      whole_share: float | None = None) -> list[Episode]:
    """Launch a batch and wait for every episode to end (CLI, benches): the same jobs as the UI."""
    episodes = episode_batch_launch(golds=[gold], count=count, agent=agent, model=model, budget=budget,
                                    directions=directions, base_url=base_url or None, seed=seed, user=user,
                                    faults=faults, network=network, whole_share=whole_share)
    return episode_batch_wait(episodes=episodes, timeout=timeout)
