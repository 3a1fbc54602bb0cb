"""Repositories, their gold environments, and inversion episodes with their event rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.lib.models import StorableModel


class Repository(StorableModel):
    class Kind(models.TextChoices):
        PYPI = "pypi", "PyPI sdist"
        GIT = "git", "Git URL"
        PATH = "path", "Local path"

    class Status(models.TextChoices):
        FETCHING = "fetching"  # a network source (PyPI, git) is being fetched by a build-queue job
        READY = "ready"
        FAILED = "failed"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    spec = models.CharField(max_length=500, unique=True, help_text="Canonical source, e.g. pypi:attrs==23.2.0")
    location = models.CharField(max_length=500, help_text="Package name, clone URL or directory")
    ref = models.CharField(max_length=200, blank=True, help_text="Version, git ref or empty")
    resolved = models.CharField(max_length=128, blank=True, help_text="sdist sha256, commit sha or tree hash")
    snapshot_path = models.CharField(max_length=500, blank=True, help_text="Unpacked sources on the studio host")
    summary = models.JSONField(default=dict, blank=True, help_text="Detected layout: tests, extras, files")
    install_cmd = models.TextField(blank=True, help_text="Overrides the detected install command")
    test_cmd = models.TextField(blank=True, help_text="Overrides the detected test command")
    dockerfile_override = models.TextField(blank=True, help_text="Replaces the synthesized Dockerfile")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    error = models.TextField(blank=True, help_text="Why the source could not be fetched")
    fetch_claimed_at = models.DateTimeField(null=True, blank=True, help_text="Set once by the job fetching it")
    fetch_progress = models.CharField(max_length=300, blank=True, help_text="The fetch job's last progress line")
    fetch_worker = models.CharField(max_length=200, blank=True, help_text="The worker fetching it")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name


class GoldEnvironment(StorableModel):
    class Status(models.TextChoices):
        QUEUED = "queued"
        BUILDING = "building"
        TESTING = "testing"
        READY = "ready"
        FAILED = "failed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="golds")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    dockerfile = models.TextField(blank=True, help_text="The Dockerfile used, verbatim")
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    image = models.CharField(max_length=200, blank=True)
    image_id = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The worker building it")
    engine = models.CharField(max_length=100, blank=True, db_index=True,
                              help_text="The Docker engine its image lives on (episodes run there)")
    reused = models.BooleanField(default=False, help_text="The image existed already")
    test_cmd = models.TextField(blank=True)
    build_log = models.TextField(blank=True)
    baseline = models.JSONField(default=dict, blank=True, help_text="Per-test outcomes, runs, flaky set")
    surface = models.JSONField(default=dict, blank=True, help_text="Modules, shared libraries, executables")
    integrity = models.JSONField(default=dict, blank=True, help_text="The verifier's manifest of the pristine gold")
    error = models.TextField(blank=True)
    failure_kind = models.CharField(max_length=12, blank=True,
                                    help_text="Why it failed, for counting: docker, build, timeout, no-tests, tests, error")
    first_dockerfile = models.TextField(blank=True, help_text="The first synthesis, before the set-up loop changed it")
    attempts = models.JSONField(default=list, blank=True, help_text="Set-up attempts: change, reason, status, plan")
    build_seconds = models.FloatField(null=True, blank=True)
    test_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"gold #{self.pk} of {self.repository_id}"

    @property
    def counts(self) -> dict:
        return self.baseline.get("counts", {})


class EpisodeBatch(StorableModel):
    """One launch: N episodes on one gold, or one per gold for a set of repositories."""

    config = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class Episode(StorableModel):
    class Agent(models.TextChoices):
        BUILTIN = "builtin", "Built-in (offline)"
        LLM = "llm", "LLM"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        VALIDATING = "validating"
        SUCCEEDED = "succeeded", "Task made"
        NO_TASK = "no_task", "No valid task"
        ERROR = "error"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.VALIDATING)

    gold = models.ForeignKey(GoldEnvironment, on_delete=models.CASCADE, related_name="episodes")
    batch = models.ForeignKey(EpisodeBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="episodes")
    agent = models.CharField(max_length=10, choices=Agent.choices, default=Agent.BUILTIN)
    model = models.CharField(max_length=200, blank=True)
    config = models.JSONField(default=dict, blank=True, help_text="Budget, directions, seed, endpoint")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it stopped (budget, error, failed rule)")
    failed_rule = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=60, blank=True)
    fault_family = models.CharField(max_length=80, blank=True)
    summary = models.TextField(blank=True)
    repair_script = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="Commands kept, env, test deltas")
    steps = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    container_id = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The worker running or validating it")
    # The task it made: written by the validating app (tasks), read here without importing it.
    task_pk = models.PositiveBigIntegerField(null=True, blank=True)
    task_slug = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    validation_claimed_at = models.DateTimeField(null=True, blank=True, help_text="Set once by the validating worker")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"episode #{self.pk}"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class EpisodeEvent(StorableModel):
    """One step or status change, written before it is broadcast; `seq` orders and dedups."""

    class Kind(models.TextChoices):
        STATUS = "status"
        THOUGHT = "thought"
        COMMAND = "command"
        SETENV = "setenv"
        TESTS = "tests"
        FINISH = "finish"
        ERROR = "error"
        VALIDATION = "validation"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    duration_ms = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["episode", "seq"]
        constraints = [models.UniqueConstraint(fields=["episode", "seq"], name="unique_event_seq")]


class BuildEvent(StorableModel):
    """A chunk of a gold build log, stored before it is broadcast (same protocol as episodes)."""

    gold = models.ForeignKey(GoldEnvironment, on_delete=models.CASCADE, related_name="log_events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, default="log")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gold", "seq"]
        constraints = [models.UniqueConstraint(fields=["gold", "seq"], name="unique_build_event_seq")]


class Worker(StorableModel):
    """A process that runs jobs (the embedded server, a Celery pool process): its lease is its heartbeat.
    Rows it claims and containers it starts carry its key; once it is dead, the sweep ends them."""

    key = models.CharField(max_length=200, unique=True, help_text="host:pid:start")
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, help_text="embedded | celery | cli")
    engine = models.CharField(max_length=300, help_text="The Docker endpoint its containers run on")
    engine_id = models.CharField(max_length=100, blank=True, db_index=True,
                                 help_text="The engine's name in queue names (episode@<engine_id>)")
    queues = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="A clean shutdown")
    dead_at = models.DateTimeField(null=True, blank=True, help_text="When a sweep found it gone")

    class Meta:
        ordering = ["-heartbeat_at"]

    def __str__(self) -> str:
        return self.key
