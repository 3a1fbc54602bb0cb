"""Reads for the dashboard: counts across apps and the health of Docker, LLM and workers."""

from __future__ import annotations

from django.conf import settings

from inversion.engine.runtime.llm.localmodel import server_health
from inversion.selectors.dashboard import (
    golds_failed_by_reason,
    inversion_stats,
    recent_episodes,
    yield_by_category,
    yield_by_repository,
)
from inversion.selectors.workers import workers_overview
from studio.lib.dockerctx import docker_status
from studio.lib.workers import embedded_worker_state
from tasks.selectors.dashboard import recent_activity, task_stats


def health_report() -> dict:
    docker = docker_status()
    if settings.STUDIO_EMBEDDED_WORKER:
        worker = {"ok": embedded_worker_state()["running"], "detail": "embedded worker thread"}
    else:
        worker = {"ok": None, "detail": f"separate workers via {settings.CELERY_BROKER_URL.split('@')[-1]}"}
    llm_url = settings.OPENAI_BASE_URL
    llm = {"ok": bool(llm_url) or None, "detail": llm_url or "no endpoint set: built-in agent only"}
    if settings.STUDIO_LOCAL_LLM:
        llm = _local_llm_health(settings.STUDIO_LOCAL_LLM, llm_url)
    return {
        "docker": {"ok": docker.ok, "endpoint": docker.endpoint, "detail": docker.detail},
        "worker": worker,
        "llm": llm,
        "mode": "embedded" if settings.EMBEDDED else "scale",
    }


def _local_llm_health(model: str, base_url: str) -> dict:
    """The managed local model server (`studio llm serve`): does it answer on loopback right now?"""
    probe = server_health(base_url, timeout=1)
    state = "healthy" if probe["ok"] else "not answering (run `manage.py studio llm serve`)"
    return {"ok": probe["ok"], "detail": f"local model {model} at {base_url}: {state}", "local": True}


def dashboard_stats() -> dict:
    return {**inversion_stats(), **task_stats()}


def dashboard_tables() -> dict:
    """Yield per repository and per category, and what happened lately."""
    return {"by_repository": yield_by_repository(), "by_category": yield_by_category(),
            "recent_episodes": recent_episodes(), "recent_activity": recent_activity(),
            "failed_golds": golds_failed_by_reason(), "fleet": workers_overview()}
