"""Reads of the tasks app."""

from __future__ import annotations

from django.db.models import Count

from tasks.models import Catalog, Task


def task_stats() -> dict:
    counts = dict(Task.objects.values_list("state").annotate(n=Count("id")))
    return {"tasks_by_state": {label: counts.get(value, 0) for value, label in Task.State.choices}}


def task_list() -> list[Task]:
    return list(Task.objects.select_related("gold__repository")[:500])


def catalog_list() -> list[Catalog]:
    return list(Catalog.objects.all())
