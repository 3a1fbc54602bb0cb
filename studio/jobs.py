"""Celery jobs of the studio shell."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="studio.jobs.ping_job")
def ping_job(marker: str) -> str:
    """Round trip through the broker and the worker; used by health checks and tests."""
    from studio.services import record_ping

    return record_ping(marker=marker)
