"""Dashboard figures of the tasks app."""

from __future__ import annotations

from django.db.models import Count

from tasks.models import Task, TaskActivity


def task_stats() -> dict:
    counts = dict(Task.objects.values_list("state").annotate(n=Count("id")))
    return {"tasks_by_state": {label: counts.get(value, 0) for value, label in Task.State.choices}}


def recent_activity(limit: int = 10) -> list[TaskActivity]:
    return list(TaskActivity.objects.select_related("task", "actor").order_by("-created_at")[:limit])
