"""Celery jobs of the campaigns app: load ids, call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="campaigns.jobs.campaign_tick_job")
def campaign_tick_job(campaign_id: int) -> str:
    """One driver step of a campaign (build queue); workers also run due steps beside their heartbeat."""
    from campaigns.services.campaigns import campaign_tick

    return campaign_tick(campaign_id=campaign_id)
