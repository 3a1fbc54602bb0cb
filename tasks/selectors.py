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


def task_rows(*, state: str | None = None) -> list[dict]:
    """Plain rows for the CLI's `tasks list`."""
    qs = Task.objects.select_related("gold__repository").order_by("pk")
    if state:
        qs = qs.filter(state=state)
    return [{"id": t.pk, "slug": t.slug, "state": t.state, "repo": t.gold.repository.name, "category": t.category,
             "difficulty": t.difficulty, "f2p": len(t.fail_to_pass), "p2p": len(t.pass_to_pass)} for t in qs]


def tasks_by_ref(refs: list[str]) -> list[Task]:
    """Tasks by id or slug, in the order given; an unknown reference is an error naming it."""
    from studio.lib.exceptions import ApplicationError

    found, missing = [], []
    for ref in refs:
        task = Task.objects.filter(pk=int(ref)).first() if ref.isdigit() else Task.objects.filter(slug=ref).first()
        (found.append(task) if task else missing.append(ref))
    if missing:
        raise ApplicationError(f"no such task: {', '.join(missing)}")
    return found
