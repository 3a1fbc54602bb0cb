"""Reads behind the task, review and catalog pages."""

from __future__ import annotations

import difflib

from django.db.models import QuerySet

from tasks.models import Catalog, CatalogEntry, CatalogVersion, Task, TaskRevision


def task_filtered(*, state: str = "", repository: str = "", category: str = "", difficulty: str = "",
                  tag: str = "") -> QuerySet[Task]:
    qs = Task.objects.select_related("gold__repository", "last_edited_by")
    if state:
        qs = qs.filter(state=state)
    if repository:
        qs = qs.filter(gold__repository__name=repository)
    if category:
        qs = qs.filter(category=category)
    if difficulty:
        qs = qs.filter(difficulty=difficulty)
    if tag:
        qs = [t for t in qs if tag in (t.tags or [])]  # JSON contains is not portable to SQLite
    return qs


def task_facets() -> dict:
    tasks = Task.objects.values_list("gold__repository__name", "category", "tags")
    tags = sorted({t for *_, tl in tasks for t in (tl or [])})
    return {
        "repositories": sorted({r for r, _, _ in tasks}), "categories": sorted({c for _, c, _ in tasks}),
        "difficulties": Task.Difficulty.choices, "states": Task.State.choices, "tags": tags,
    }


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
    task = Task.objects.select_related("gold__repository", "episode", "last_edited_by").get(pk=task_id)
    failing = [{"id": t, "excerpt": (task.failure_excerpts or {}).get(t, "")} for t in task.fail_to_pass]
    transcript = list(task.episode.events.order_by("seq")) if task.episode_id else []
    return {
        "task": task, "revision": task.current_revision, "history": revision_history(task=task),
        "failing": failing, "runs": list(task.validation_runs.all()), "activity": list(task.activity.select_related("actor")[:50]),
        "transcript": transcript,
    }


def catalog_detail(*, catalog_id: int, version: int | None = None) -> dict:
    catalog = Catalog.objects.get(pk=catalog_id)
    versions = list(catalog.versions.all())
    current = next((v for v in versions if v.number == version), versions[0] if versions else None)
    entries = (list(CatalogEntry.objects.filter(version=current).select_related("task__gold__repository", "revision"))
               if current else [])
    exports = list(current.exports.all()[:10]) if current else []
    return {"catalog": catalog, "versions": versions, "current": current, "entries": entries, "exports": exports}


def catalog_version_get(*, version_id: int) -> CatalogVersion:
    return CatalogVersion.objects.select_related("catalog").get(pk=version_id)


def recent_activity(limit: int = 10) -> list:
    from tasks.models import TaskActivity

    return list(TaskActivity.objects.select_related("task", "actor").order_by("-created_at")[:limit])
