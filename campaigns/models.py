"""A campaign drives many sources through fetch -> gold -> episodes -> validation, resumably: every
decision is a row here, so any worker's driver step can pick it up after a restart."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.lib.models import StorableModel


class Campaign(StorableModel):
    class Status(models.TextChoices):
        RUNNING = "running"
        PAUSED = "paused"
        CANCELLED = "cancelled"
        FINISHED = "finished"

    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    episodes_per_gold = models.PositiveIntegerField(default=1)
    agent_mix = models.JSONField(default=dict, help_text='Weights per agent kind, e.g. {"builtin": 3, "llm": 1}')
    directions = models.TextField(blank=True)
    seed = models.PositiveIntegerField(null=True, blank=True, help_text="Seeds the agents (reproducible runs)")
    target_tasks = models.PositiveIntegerField(null=True, blank=True, help_text="Stop once this many valid tasks exist")
    outcome = models.TextField(blank=True, help_text="Why it ended (all sources done, target reached, cancelled)")
    tick_claimed_until = models.DateTimeField(null=True, blank=True, help_text="A driver step holds it until then")
    ticked_at = models.DateTimeField(null=True, blank=True)
    ticks = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"campaign #{self.pk} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.RUNNING, self.Status.PAUSED)


class CampaignSource(StorableModel):
    """One line of the campaign's source list and how far it got."""

    class Stage(models.TextChoices):
        PENDING = "pending"
        FETCHING = "fetching"
        BUILDING = "building"
        EPISODES = "episodes"
        DONE = "done"
        FAILED = "failed"
        STOPPED = "stopped"

    TERMINAL = (Stage.DONE, Stage.FAILED, Stage.STOPPED)

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sources")
    line = models.PositiveIntegerField(help_text="Line number in the list the curator gave")
    spec = models.CharField(max_length=500)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PENDING, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it failed, stopped or waits")
    repository = models.ForeignKey("inversion.Repository", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    gold = models.ForeignKey("inversion.GoldEnvironment", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    golds_tried = models.PositiveIntegerField(default=0, help_text="Golds made for it (another engine after a loss)")
    batch_ids = models.JSONField(default=list, blank=True, help_text="Its EpisodeBatch ids")
    redispatched_at = models.DateTimeField(null=True, blank=True, help_text="Its queued jobs were sent again then")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "line"]
        constraints = [models.UniqueConstraint(fields=["campaign", "spec"], name="unique_campaign_spec")]

    def __str__(self) -> str:
        return f"{self.spec} ({self.stage})"
