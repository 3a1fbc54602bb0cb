"""Materialize a broken episode: build the broken Dockerfile, validate every rule, and save a
draft Task with its first revision (issue writer) and one ValidationRun row per run.

Each rule's verdict is also an episode event (`validation`), so the live page shows it.
An episode whose result breaks a rule ends as `no_task` with the failed rule recorded.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from inversion.engine.episode.signature import known_twin
from inversion.engine.validate import issuewriter
from inversion.engine.validate.hacks import load_hacks
from inversion.engine.validate.layers import redundant_layers
from inversion.engine.validate.materialize import broken_dockerfile
from inversion.engine.validate.rules import remove_image, validate
from inversion.engine.validate.verdicts import ValidationSpec
from inversion.models import Episode
from inversion.services.events import episode_event_add
from inversion.services.golds import gold_set_integrity
from studio.lib.db import retry_locked
from studio.lib.dockerctx import docker_client
from studio.lib.text import storable
from studio.lib.workers import worker_id
from tasks.models import Task, TaskRevision, ValidationRun
from tasks.selectors.diversity import gold_near_twin, gold_signature_keys

log = logging.getLogger(__name__)


def _chat_client(episode: Episode):
    """A ChatClient when a model is configured (per episode or in settings), else None."""
    from inversion.services.llm import client_or_none

    cfg = episode.config or {}
    overrides = {**cfg, "model": episode.model if episode.agent == "llm" else ""}
    return client_or_none(overrides)


def _issue(episode: Episode, evidence: issuewriter.Evidence) -> issuewriter.IssueText:
    client = _chat_client(episode)
    if client is None:
        return issuewriter.offline_issue(evidence)
    try:
        return issuewriter.llm_issue(evidence, client)
    except Exception as exc:  # the offline writer always works
        log.warning("issue writer LLM failed for episode %s: %s", episode.pk, exc)
        text = issuewriter.offline_issue(evidence)
        text.note = f"llm writer failed: {exc}"[:300]
        return text


def _slug(repo: str, category: str, seed: str) -> str:
    short = hashlib.sha1(seed.encode()).hexdigest()[:8]
    return f"{slugify(repo)[:60]}-{slugify(category or 'environment')[:30]}-{short}"


def _fail(episode: Episode, rule: str, detail: str) -> None:
    episode.status, episode.failed_rule = Episode.Status.NO_TASK, rule
    episode.reason = f"no valid task: rule {rule} failed: {detail}"[:2000]
    episode.finished_at = timezone.now()
    retry_locked(episode.save, update_fields=["status", "failed_rule", "reason", "finished_at"])
    episode_event_add(episode_id=episode.pk, kind="status", payload={"status": "no_task", "message": episode.reason})


def task_materialize(*, episode: Episode) -> Task | None:
    """Validate the episode's break and save a draft task, or mark the episode `no_task`."""
    claimed = retry_locked(
        Episode.objects.filter(pk=episode.pk, status=Episode.Status.VALIDATING, validation_claimed_at__isnull=True).update,
        validation_claimed_at=timezone.now(), worker=worker_id(),
    )
    if not claimed:  # already validated, or another worker is at it (a redelivered job, a second caller)
        return Task.objects.filter(episode_id=episode.pk).first()
    gold, repo = episode.gold, episode.gold.repository
    delta = (episode.result or {}).get("delta", [])
    dockerfile, delta_text = broken_dockerfile(gold.dockerfile, delta)
    episode_event_add(episode_id=episode.pk, kind="status",
                      payload={"status": "validating", "message": f"rebuilding with {len(delta)} delta lines"})

    def on_rule(rule: str, ok: bool | None, detail: str) -> None:
        episode_event_add(episode_id=episode.pk, kind="validation", payload={"rule": rule, "ok": ok, "detail": detail})

    layers = (episode.result or {}).get("layers") or []
    spec = ValidationSpec(gold_image=gold.image or gold.image_id, baseline=gold.baseline or {}, delta=delta,
                          repair_script=episode.repair_script, test_cmd=gold.test_cmd or "python -m pytest",
                          instance=settings.STUDIO_INSTANCE, owner=f"episode:{episode.pk}",
                          runs=max(2, settings.STUDIO_BASELINE_RUNS), gold_integrity=gold.integrity or {},
                          hacks=load_hacks(settings.STUDIO_HACKS_DIR), worker=worker_id(),
                          step_timeout=settings.STUDIO_VALIDATION_STEP_TIMEOUT, layers=layers,
                          category=episode.category, known_signatures=gold_signature_keys(gold_id=gold.pk),
                          network="host" if (episode.config or {}).get("network") else "none")
    client = docker_client(timeout=900)
    try:
        result = validate(client, spec, on_rule=on_rule)
        remove_image(client, result.image)  # export rebuilds from the Dockerfile
    except Exception as exc:  # Docker failure: the episode ends in error, the job does not crash
        episode.status, episode.reason = Episode.Status.ERROR, f"validation crashed: {exc}"[:2000]
        episode.finished_at = timezone.now()
        episode.save(update_fields=["status", "reason", "finished_at"])
        episode_event_add(episode_id=episode.pk, kind="error", payload={"message": episode.reason})
        return None
    finally:
        client.close()
    if result.gold_integrity and not gold.integrity:  # a gold built before the verifier had a manifest
        gold_set_integrity(gold=gold, manifest=result.gold_integrity)
    if not result.ok:
        if result.failed_rule == "layers":  # the next episodes of this gold never lay these on top again
            redundant = [r["family"] for r in redundant_layers(result.layers)]
            episode.result = {**(episode.result or {}), "redundant_layers": redundant}
            retry_locked(episode.save, update_fields=["result"])
        return _fail(episode, result.failed_rule, result.rules.get(result.failed_rule, {}).get("detail", ""))
    category = episode.category or "environment"
    evidence = issuewriter.Evidence(repo=repo.name, category=category, f2p=result.f2p, excerpts=result.excerpts,
                                    test_cmd=gold.test_cmd or "python -m pytest", delta=delta,
                                    changed_paths=result.touched, seed=episode.pk,
                                    edits_testbed=any(p.startswith("/testbed/") for p in result.touched)
                                    or "/testbed/" in episode.repair_script)
    text = _issue(episode, evidence)
    return retry_locked(_save, episode, result, text, dockerfile, delta_text, category)


def _twin_saved_meanwhile(episode, result) -> str:
    """A task with this signature (or set of catalog families) saved by an episode validated at the
    same time (the check at the start of validation could not see it)."""
    return known_twin(gold_signature_keys(gold_id=episode.gold_id), result.signature or {})[0]


def _near_twin(episode, result, text) -> str:
    """Mass production never keeps a near-duplicate (a curator's or a model's episode is kept, and the
    catalog warns with the twin linked): the guard estimates before laying, this measures the real
    signature and issue text (cachetools, 2 faults: two pairs sharing a deep startup-hook layer with
    different one-step partners measured 0.60 and 0.62, where the estimate said 0.45 and 0.40). The
    refused signature stays in the episode's result, so later episodes treat its set as made."""
    if episode.agent != Episode.Agent.BUILTIN or not result.signature:
        return ""
    found = gold_near_twin(gold_id=episode.gold_id, signature=result.signature, text=text.instruction_hard)
    if found is None:
        return ""
    episode.result = {**(episode.result or {}), "signature": result.signature}
    episode.save(update_fields=["result"])
    twin, score = found
    return f"{result.signature.get('label')} nearly repeats {twin.slug} (similarity {score:.2f})"


@transaction.atomic
def _save(episode, result, text, dockerfile, delta_text, category) -> Task | None:
    gold = episode.gold
    twin = _twin_saved_meanwhile(episode, result)
    if twin:
        _fail(episode, "duplicate", f"same fault signature or families ({result.signature.get('label')}) as {twin}, "
                                    "saved while this one was validated")
        return None
    near = _near_twin(episode, result, text)
    if near:
        _fail(episode, "near_duplicate", near)
        return None
    rules = dict(result.rules)
    task = Task.objects.create(
        slug=_slug(gold.repository.name, category, f"{episode.pk}:{delta_text}"), episode=episode, gold=gold,
        category=category, fault_family=episode.fault_family,
        tags=[t for t in (category, episode.fault_family, gold.repository.name) if t],
        summary=episode.summary, gold_dockerfile=gold.dockerfile, dockerfile=dockerfile, dockerfile_delta=delta_text,
        gold_image_id=gold.image_id, fail_to_pass=result.f2p, pass_to_pass=result.p2p,
        failure_excerpts=result.excerpts,
        validation={"rules": rules, "runs": len(result.runs), "f2p": len(result.f2p), "p2p": len(result.p2p),
                    "hacks": result.hacks, "layers": result.layers, "touched": result.touched[:200],
                    "issue_writer": {"source": text.source, "note": text.note}},
        integrity=result.integrity, signature=result.signature, signature_key=result.signature.get("key", ""),
        fault_count=max(1, len((episode.result or {}).get("layers") or [])),
        repair_script=episode.repair_script, oracle_missing=result.oracle_missing,
        delta=list((episode.result or {}).get("delta", [])),
        prompt_tokens=episode.prompt_tokens + text.prompt_tokens,
        completion_tokens=episode.completion_tokens + text.completion_tokens, version=1,
    )
    TaskRevision.objects.create(task=task, number=1, instruction=text.instruction,
                                instruction_hard=text.instruction_hard, source=text.source, note=text.note)
    ValidationRun.objects.bulk_create([
        ValidationRun(task=task, rule=r.rule, index=r.index, ok=r.ok, outcomes=storable(r.outcomes), log=storable(r.log),
                      seconds=round(r.seconds, 3)) for r in result.runs])
    episode.status, episode.failed_rule = Episode.Status.SUCCEEDED, ""
    episode.task_pk, episode.task_slug = task.pk, task.slug
    episode.result = {**(episode.result or {}), "signature": result.signature}  # the next episodes' guard
    episode.finished_at = timezone.now()
    episode.save(update_fields=["status", "failed_rule", "task_pk", "task_slug", "result", "finished_at"])
    pk, slug = episode.pk, task.slug
    transaction.on_commit(lambda: episode_event_add(
        episode_id=pk, kind="status", payload={"status": "succeeded", "message": f"draft task {slug} saved"}))
    return task
