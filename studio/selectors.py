"""Reads for the dashboard: counts across apps and the health of Docker, LLM and workers."""

from __future__ import annotations

from django.conf import settings

from studio.embedded import embedded_worker_running
from studio.lib.dockerctx import docker_status


def health_report() -> dict:
    docker = docker_status()
    if settings.STUDIO_EMBEDDED_WORKER:
        worker = {"ok": embedded_worker_running(), "detail": "embedded worker thread"}
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
    from inversion.engine.llm.localmodel import server_health

    probe = server_health(base_url, timeout=1)
    state = "healthy" if probe["ok"] else "not answering (run `manage.py studio llm serve`)"
    return {"ok": probe["ok"], "detail": f"local model {model} at {base_url}: {state}", "local": True}


def dashboard_stats() -> dict:
    from inversion.selectors import inversion_stats
    from tasks.selectors import task_stats

    return {**inversion_stats(), **task_stats()}


def dashboard_tables() -> dict:
    """Yield per repository and per category, and what happened lately."""
    from inversion.episode_selectors import recent_episodes, yield_by_category, yield_by_repository
    from tasks.review_selectors import recent_activity

    return {"by_repository": yield_by_repository(), "by_category": yield_by_category(),
            "recent_episodes": recent_episodes(), "recent_activity": recent_activity()}
