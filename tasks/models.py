"""Tasks materialized from episodes, their text revisions, validation runs, review and catalogs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.lib.models import StorableModel


class Task(StorableModel):
    class State(models.TextChoices):
        DRAFT = "draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved"
        REJECTED = "rejected"

    class Difficulty(models.TextChoices):
        EASY = "easy"
        MEDIUM = "medium"
        HARD = "hard"

    slug = models.SlugField(max_length=120, unique=True, help_text="<repo>-<category>-<short hash>")
    # No reverse accessor: inversion never reaches into tasks (the episode keeps task_pk/task_slug).
    episode = models.OneToOneField("inversion.Episode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    gold = models.ForeignKey("inversion.GoldEnvironment", on_delete=models.PROTECT, related_name="tasks")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT, db_index=True)
    category = models.CharField(max_length=60)
    fault_family = models.CharField(max_length=80, blank=True)
    difficulty = models.CharField(max_length=6, choices=Difficulty.choices, default=Difficulty.MEDIUM)
    tags = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True, help_text="One line from the agent: what was broken (never exported to agents)")
    gold_dockerfile = models.TextField()
    dockerfile = models.TextField(help_text="The broken Dockerfile: gold + delta")
    dockerfile_delta = models.TextField(help_text="The lines appended to the gold Dockerfile")
    delta = models.JSONField(default=list, blank=True, help_text="The episode's kept steps (run/env), for the giveaway check")
    gold_image_id = models.CharField(max_length=100, blank=True, help_text="Gold image this was validated on")
    broken_image = models.CharField(max_length=200, blank=True)
    fail_to_pass = models.JSONField(default=list)
    pass_to_pass = models.JSONField(default=list)
    failure_excerpts = models.JSONField(default=dict, help_text="test id -> failure text in the broken image")
    validation = models.JSONField(default=dict, help_text="Rule -> {ok, detail}; summary of the runs")
    integrity = models.JSONField(default=dict, blank=True, help_text="The task's part of the verifier's manifest")
    repair_script = models.TextField(blank=True)
    signature = models.JSONField(default=dict, blank=True,
                                 help_text="Fault signature: layers (kind, category, target), env names, touched paths")
    signature_key = models.CharField(max_length=32, blank=True, db_index=True, help_text="Equal keys = duplicates")
    fault_count = models.PositiveSmallIntegerField(default=1, help_text="Faults laid (compound tasks: 2-3)")
    oracle_missing = models.BooleanField(default=False)
    measured_difficulty = models.CharField(max_length=10, blank=True, db_index=True,
                                           help_text="From solver runs: easy|medium|hard|unsolved; empty = not measured")
    measured_by = models.JSONField(default=list, blank=True, help_text="The solvers it was measured by, with scores")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=0, help_text="Latest revision number; edits carry it")
    last_edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reject_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.slug

    @property
    def current_revision(self) -> TaskRevision | None:
        return self.revisions.filter(number=self.version).first()


class TaskRevision(StorableModel):
    """An immutable version of the task's issue texts; the newest is the task's current text."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    instruction = models.TextField(help_text="Issue text with a hint")
    instruction_hard = models.TextField(help_text="Issue text without the hint")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=20, default="human", help_text="human | writer | llm")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "-number"]
        constraints = [models.UniqueConstraint(fields=["task", "number"], name="unique_revision_number")]


class ValidationRun(StorableModel):
    """One run of one validation rule, with per-test outcomes (all shown to the reviewer)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="validation_runs")
    rule = models.CharField(max_length=20, help_text="rebuild | broken | nop | oracle | gold")
    index = models.PositiveIntegerField(default=0)
    ok = models.BooleanField()
    outcomes = models.JSONField(default=dict, help_text="test id -> passed|failed|error|skipped")
    log = models.TextField(blank=True)
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "id"]


class TaskActivity(StorableModel):
    """Review trail: who did what and why."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=20)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class Catalog(StorableModel):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CatalogVersion(StorableModel):
    """A frozen set of task revisions; adding or editing a task makes a new version."""

    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["catalog", "-number"]
        constraints = [models.UniqueConstraint(fields=["catalog", "number"], name="unique_catalog_version")]


class CatalogEntry(StorableModel):
    version = models.ForeignKey(CatalogVersion, on_delete=models.CASCADE, related_name="entries")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="catalog_entries")
    revision = models.ForeignKey(TaskRevision, on_delete=models.PROTECT, related_name="+")
    export_id = models.SlugField(max_length=120, help_text="Stable task id inside the catalog")

    class Meta:
        ordering = ["version", "export_id"]
        constraints = [models.UniqueConstraint(fields=["version", "export_id"], name="unique_export_id_in_version")]


class Export(StorableModel):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    version = models.ForeignKey(CatalogVersion, on_delete=models.CASCADE, related_name="exports")
    formats = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveIntegerField(default=0, help_text="Percent")
    message = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The worker building it")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class SolverRun(StorableModel):
    """A Harbor agent (and model) sent at every task of a catalog version, k attempts each."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Strength(models.TextChoices):
        WEAK = "weak"
        STRONG = "strong"

    version = models.ForeignKey(CatalogVersion, on_delete=models.CASCADE, related_name="solver_runs")
    agent = models.CharField(max_length=100, help_text="Harbor agent: oracle, nop, terminus-2, ...")
    model = models.CharField(max_length=200, blank=True, help_text="LiteLLM model name, e.g. openai/qwen2.5-coder-1.5b")
    base_url = models.CharField(max_length=300, blank=True, help_text="OpenAI-compatible endpoint for LLM agents")
    strength = models.CharField(max_length=6, choices=Strength.choices, default=Strength.STRONG)
    attempts = models.PositiveSmallIntegerField(default=1, help_text="k: trials per task")
    concurrency = models.PositiveSmallIntegerField(default=2)
    agent_options = models.JSONField(default=dict, blank=True,
                                     help_text="More agent options, given to Harbor as --ak KEY=VALUE (parser_name=xml)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    tasks_total = models.PositiveIntegerField(default=0)
    trials_total = models.PositiveIntegerField(default=0)
    trials_done = models.PositiveIntegerField(default=0)
    trials_passed = models.PositiveIntegerField(default=0)
    current = models.CharField(max_length=300, blank=True, help_text="Tasks being tried now")
    elapsed = models.FloatField(default=0)
    eta = models.FloatField(null=True, blank=True, help_text="Seconds left at the pace so far")
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    job_dir = models.CharField(max_length=500, blank=True, help_text="Harbor's job directory (raw files)")
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def solver(self) -> str:
        return f"{self.agent}:{self.model}" if self.model else self.agent

    @property
    def pass_rate(self) -> float | None:
        return self.trials_passed / self.trials_done if self.trials_done else None


class Trial(StorableModel):
    """One attempt of one agent at one task, as Harbor recorded it (all text is untrusted)."""

    run = models.ForeignKey(SolverRun, on_delete=models.CASCADE, related_name="trials")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="trials")
    export_id = models.SlugField(max_length=120)
    name = models.CharField(max_length=200, help_text="Harbor's trial name")
    attempt = models.PositiveSmallIntegerField(default=1)
    reward = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(default=False)
    exception = models.CharField(max_length=200, blank=True)
    exception_message = models.TextField(blank=True)
    seconds = models.FloatField(default=0)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    steps = models.PositiveIntegerField(default=0)
    trajectory = models.TextField(blank=True, help_text="ATIF trajectory.json, or the agent's logs when none")
    trajectory_kind = models.CharField(max_length=5, blank=True, help_text="atif | log")
    verifier_output = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "export_id", "attempt"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="unique_trial_name_in_run")]
