"""Reads of tasks: filtered lists and facets, the review page, CLI rows, lookups by id or slug."""

from __future__ import annotations

import difflib

from django.db.models import QuerySet

from studio.lib.exceptions import ApplicationError
from tasks.models import Task, TaskRevision
from tasks.selectors.diversity import task_twins
from tasks.selectors.solver_runs import task_trials


def task_filtered(*, state: str = "", repository: str = "", category: str = "", difficulty: str = "",
                  tag: str = "", measured: str = "") -> QuerySet[Task] | list[Task]:
    """`measured`: a measured difficulty (easy|medium|hard|unsolved) or "none" (no solver ran yet)."""
    qs = Task.objects.select_related("gold__repository", "last_edited_by")
    if measured:
        qs = qs.filter(measured_difficulty="" if measured == "none" else measured)
    if state:
        qs = qs.filter(state=state)
    if repository:
        qs = qs.filter(gold__repository__name=repository)
    if category:
        qs = qs.filter(category=category)
    if difficulty:
        qs = qs.filter(difficulty=difficulty)
    if tag:
        return [t for t in qs if tag in (t.tags or [])]  # JSON contains is not portable to SQLite
    return qs


def task_facets() -> dict:
    tasks = Task.objects.values_list("gold__repository__name", "category", "tags")
    tags = sorted({t for *_, tl in tasks for t in (tl or [])})
    return {
        "repositories": sorted({r for r, _, _ in tasks}), "categories": sorted({c for _, c, _ in tasks}),
        "difficulties": Task.Difficulty.choices,
        "measured": [("easy", "easy"), ("medium", "medium"), ("hard", "hard"), ("unsolved", "unsolved"),
                     ("none", "not measured")], "states": Task.State.choices, "tags": tags,
    }


def task_get(*, task_id: int) -> Task:
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        raise ApplicationError(f"no task #{task_id}")
    return task


def revision_history(*, task: Task) -> list[dict]:
    """Newest first, each with a unified diff against the revision before it."""
    revisions = list(TaskRevision.objects.filter(task=task).select_related("author").order_by("number"))
    out, previous = [], None
    for rev in revisions:
        before = previous.instruction if previous else ""
        diff = list(difflib.unified_diff(before.splitlines(), rev.instruction.splitlines(),
                                         f"r{previous.number if previous else 0}", f"r{rev.number}", lineterm=""))
        out.append({"rev": rev, "diff": diff[2:]})
        previous = rev
    return list(reversed(out))


def task_review(*, task_id: int) -> dict:
    """Everything the review page shows; ApplicationError for an unknown task."""
    task = (Task.objects.select_related("gold__repository", "episode", "last_edited_by")
            .filter(pk=task_id).first())
    if task is None:
        raise ApplicationError(f"no task #{task_id}")
    failing = [{"id": t, "excerpt": (task.failure_excerpts or {}).get(t, "")} for t in task.fail_to_pass]
    transcript = list(task.episode.events.order_by("seq")) if task.episode_id else []
    validation = task.validation or {}
    return {
        "task": task, "revision": task.current_revision, "history": revision_history(task=task),
        "failing": failing, "runs": list(task.validation_runs.all()), "rules": validation.get("rules") or {},
        "hacks": validation.get("hacks") or [], "layers": validation.get("layers") or [],
        "signature": task.signature or {},
        "twins": task_twins(task=task, states=(Task.State.DRAFT, Task.State.IN_REVIEW, Task.State.APPROVED)),
        "activity": list(task.activity.select_related("actor")[:50]), "transcript": transcript,
        "solving": task_trials(task=task),
    }


def task_rows(*, state: str | None = None) -> list[dict]:
    """Plain rows for the CLI's `tasks list`."""
    qs = Task.objects.select_related("gold__repository").order_by("pk")
    if state:
        qs = qs.filter(state=state)
    return [{"id": t.pk, "slug": t.slug, "state": t.state, "repo": t.gold.repository.name, "category": t.category,
             "difficulty": t.difficulty, "measured_difficulty": t.measured_difficulty, "f2p": len(t.fail_to_pass), "p2p": len(t.pass_to_pass),
             "fault_count": t.fault_count, "signature": _signature_row(t)} for t in qs]


def _signature_row(task: Task) -> dict | None:
    sig = task.signature or {}
    if not sig:
        return None
    return {"key": sig.get("key"), "label": sig.get("label"), "layers": sig.get("layers") or [],
            "env": sig.get("env") or [], "paths": sig.get("paths") or []}


def tasks_by_ref(refs: list[str]) -> list[Task]:
    """Tasks by id or slug, in the order given; an unknown reference is an error naming it."""
    found, missing = [], []
    for ref in refs:
        task = Task.objects.filter(pk=int(ref)).first() if ref.isdigit() else Task.objects.filter(slug=ref).first()
        (found.append(task) if task else missing.append(ref))
    if missing:
        raise ApplicationError(f"no such task: {', '.join(missing)}")
    return found
