"""Reads of solver runs and trials: run pages, per-task pass@1 / pass@k per solver, CLI summaries."""

from __future__ import annotations

from collections import defaultdict

from studio.lib.exceptions import ApplicationError
from tasks.engine.difficulty import SolverScore, pass_at_k
from tasks.engine.harbor import BASELINE_AGENTS
from tasks.models import CatalogVersion, SolverRun, Task, Trial

FINISHED = (SolverRun.Status.DONE, SolverRun.Status.CANCELLED, SolverRun.Status.FAILED)


def solver_run_get(*, run_id: int) -> SolverRun:
    run = SolverRun.objects.select_related("version__catalog", "created_by").filter(pk=run_id).first()
    if run is None:
        raise ApplicationError(f"no solver run #{run_id}")
    return run


def solver_runs_of_version(*, version: CatalogVersion | None) -> list[SolverRun]:
    return (
        list(SolverRun.objects.filter(version=version).select_related("created_by")[:50]) if version else []
    )


def trial_get(*, trial_id: int) -> Trial:
    trial = Trial.objects.select_related("run", "task").filter(pk=trial_id).first()
    if trial is None:
        raise ApplicationError(f"no trial #{trial_id}")
    return trial


# what a trial table shows (the trajectory and verifier texts stay unloaded until a trial is opened)
TRIAL_COLUMNS = ("id", "attempt", "reward", "passed", "exception", "seconds", "steps", "input_tokens",
                 "output_tokens", "trajectory_kind")


def run_per_task(*, run: SolverRun) -> list[dict]:
    """Per export id: its trials (in attempt order), passes, pass@1 and pass@k (k = the run's attempts)."""
    rows: dict[str, dict] = {}
    for e in run.version.entries.select_related("task").order_by("export_id"):
        rows[e.export_id] = {"task": e.export_id, "task_obj": e.task, "trials": [], "passed": 0}
    for t in run.trials.order_by("export_id", "attempt").only("export_id", *TRIAL_COLUMNS):
        row = rows.setdefault(t.export_id, {"task": t.export_id, "task_obj": None, "trials": [], "passed": 0})
        row["trials"].append(t)
        row["passed"] += int(t.passed)
    for row in rows.values():
        n = len(row["trials"])
        row["attempts"] = n
        row["pass_at_1"] = pass_at_k(n, row["passed"], 1) if n else None
        row["pass_at_k"] = pass_at_k(n, row["passed"], run.attempts) if n else None
    return list(rows.values())


def solver_run_summary(*, run: SolverRun) -> dict:
    """The CLI's JSON: the run, its counts, the pass rate and each task's passes."""
    per_task = run_per_task(run=run)
    return {
        "run": run.pk,
        "status": run.status,
        "catalog": run.version.catalog.name,
        "version": run.version.number,
        "agent": run.agent,
        "model": run.model,
        "agent_options": run.agent_options,
        "strength": run.strength,
        "attempts_per_task": run.attempts,
        "tasks": run.tasks_total,
        "trials": run.trials_done,
        "passed": run.trials_passed,
        "pass_rate": round(run.pass_rate, 4) if run.pass_rate is not None else None,
        "seconds": run.elapsed,
        "message": run.message,
        "error": run.error,
        "per_task": [
            {
                "task": r["task"],
                "passed": r["passed"],
                "attempts": r["attempts"],
                "pass_at_1": r["pass_at_1"],
                "pass_at_k": r["pass_at_k"],
            }
            for r in per_task
        ],
    }


def task_solver_scores(*, task_ids: list[int]) -> dict[int, list[SolverScore]]:
    """Per task, every real solver's trials of finished runs (oracle and nop are no solvers)."""
    counts: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    trials = (
        Trial.objects.filter(task_id__in=task_ids, run__status__in=FINISHED)
        .exclude(run__agent__in=BASELINE_AGENTS)
        .values_list("task_id", "run__agent", "run__model", "run__strength", "passed")
    )
    for task_id, agent, model, strength, passed in trials:
        key = (task_id, f"{agent}:{model}" if model else agent, strength)
        counts[key][0] += 1
        counts[key][1] += int(passed)
    scores: dict[int, list[SolverScore]] = defaultdict(list)
    for (task_id, solver, strength), (n, c) in sorted(counts.items()):
        scores[task_id].append(SolverScore(solver, strength, n, c))
    return dict(scores)


def task_trials(*, task: Task) -> dict:
    """The task page's section: every trial with its run, and per solver (agent, model) pass@1/pass@k."""
    trials = list(
        task.trials.select_related("run")
        .order_by("-run__created_at", "attempt")
        .only(
            *TRIAL_COLUMNS,
            "run__id",
            "run__agent",
            "run__model",
            "run__attempts",
            "run__status",
            "run__created_at",
        )
    )
    per_solver: dict[str, list[int]] = defaultdict(lambda: [0, 0, 1])
    for t in trials:
        row = per_solver[t.run.solver]
        row[0] += 1
        row[1] += int(t.passed)
        row[2] = max(row[2], t.run.attempts)
    solvers = [
        {
            "solver": s,
            "trials": n,
            "passed": c,
            "k": k,
            "pass_at_1": pass_at_k(n, c, 1),
            "pass_at_k": pass_at_k(n, c, k),
        }
        for s, (n, c, k) in sorted(per_solver.items())
    ]
    return {"trials": trials, "solvers": solvers}


def solver_run_page(*, run_id: int) -> dict:
    """The live page: the run, its per-task rows, and whether the page should keep polling."""
    run = solver_run_get(run_id=run_id)
    return {
        "run": run,
        "per_task": run_per_task(run=run),
        "live": run.status in (SolverRun.Status.QUEUED, SolverRun.Status.RUNNING),
    }
