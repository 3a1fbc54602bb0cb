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
    return {
        "docker": {"ok": docker.ok, "endpoint": docker.endpoint, "detail": docker.detail},
        "worker": worker,
        "llm": {"ok": bool(llm_url) or None, "detail": llm_url or "no endpoint set: built-in agent only"},
        "mode": "embedded" if settings.EMBEDDED else "scale",
    }


def dashboard_stats() -> dict:
    from inversion.selectors import inversion_stats
    from tasks.selectors import task_stats

    return {**inversion_stats(), **task_stats()}
