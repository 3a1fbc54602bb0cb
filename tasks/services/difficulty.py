"""Measured difficulty on tasks, from the solver runs so far (the rule: `tasks.engine.difficulty`)."""

from __future__ import annotations

from tasks.engine.difficulty import measure
from tasks.models import Task
from tasks.selectors.solver_runs import task_solver_scores


def task_difficulty_update(*, task_ids: list[int]) -> dict[int, str]:
    """Re-measure these tasks; returns task id -> measured difficulty ("" while no solver ran)."""
    scores = task_solver_scores(task_ids=task_ids)
    out = {}
    for task in Task.objects.filter(pk__in=task_ids).only("id", "measured_difficulty", "measured_by"):
        level, by = measure(scores.get(task.pk, []))
        if (level, by) != (task.measured_difficulty, task.measured_by):
            Task.objects.filter(pk=task.pk).update(measured_difficulty=level, measured_by=by)
        out[task.pk] = level
    return out
