"""Solver runs: export a catalog version's tasks, run the real Harbor harness on them with an agent
(k attempts per task), record every trial as it lands, then re-measure the tasks' difficulty.

One run is one `harbor run` (Harbor schedules the trials and their containers); the studio
watches Harbor's jobs directory (`tasks.engine.harbor`) for progress and results, so its own
overhead is one directory scan per second. Cancel sets a flag the watcher reads each second.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from inversion.services.workers import workers_dead
from studio.lib.exceptions import ApplicationError
from studio.lib.jobs import dispatch
from studio.lib.text import storable
from studio.lib.workers import worker_id
from tasks.engine.harbor import BASELINE_AGENTS, HarborRun, Progress, RunSpec, TrialResult, harness_env
from tasks.exporters.harbor import harbor_files
from tasks.exporters.ondisk import write_files
from tasks.models import CatalogEntry, CatalogVersion, SolverRun, Trial
from tasks.services.catalogs import catalog_version_check
from tasks.services.difficulty import task_difficulty_update
from tasks.services.exports import task_export_record

SOLVE_JOB = "tasks.jobs.solver_run_job"
_AGENT = re.compile(r"^[A-Za-z0-9][\w.:/-]{0,99}$")
_SMALL_MODEL = re.compile(r"(?<![\d.])(0\.5|1\.5|1|3|7)b\b", re.I)  # local-size models count as weak solvers
_OPTION_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
LLM_AGENTS_NEED_MODEL = ("terminus", "terminus-1", "terminus-2")


def default_strength(agent: str, model: str) -> str:
    """Weak for small local models (0.5-7B), strong otherwise; the launcher may say otherwise."""
    return SolverRun.Strength.WEAK if _SMALL_MODEL.search(model or "") else SolverRun.Strength.STRONG


def solver_run_create(
    *,
    version: CatalogVersion,
    agent: str,
    model: str = "",
    base_url: str = "",
    attempts: int = 1,
    concurrency: int = 2,
    strength: str = "",
    agent_options: dict[str, str] | str | list[str] | None = None,
    user=None,
) -> SolverRun:
    """Check the request and the catalog now (so a refusal reaches the person), make the row."""
    agent, model, base_url = agent.strip(), model.strip(), base_url.strip()
    options = agent_options_parse(agent_options)
    if not _AGENT.match(agent):
        raise ApplicationError(f"agent {agent!r} is not a Harbor agent name", {"field": "agent"})
    if agent in LLM_AGENTS_NEED_MODEL and not model:
        raise ApplicationError(
            f"{agent} needs a model (e.g. openai/<name> with an OpenAI-compatible base URL)",
            {"field": "model"},
        )
    if not 1 <= attempts <= settings.STUDIO_SOLVE_MAX_ATTEMPTS:
        raise ApplicationError(
            f"attempts must be 1-{settings.STUDIO_SOLVE_MAX_ATTEMPTS}", {"field": "attempts"}
        )
    if not 1 <= concurrency <= 16:
        raise ApplicationError("concurrency must be 1-16", {"field": "concurrency"})
    if base_url and not re.match(r"^https?://", base_url):
        raise ApplicationError("the base URL must start with http:// or https://", {"field": "base_url"})
    if strength and strength not in SolverRun.Strength.values:
        raise ApplicationError("strength is weak or strong", {"field": "strength"})
    entries = catalog_version_check(version=version)
    if agent not in BASELINE_AGENTS and model and not base_url:
        base_url = settings.OPENAI_BASE_URL
    return SolverRun.objects.create(
        version=version,
        agent=agent,
        model=model,
        base_url=base_url,
        attempts=attempts,
        concurrency=concurrency,
        strength=strength or default_strength(agent, model),
        agent_options=options,
        tasks_total=len(entries),
        trials_total=len(entries) * attempts,
        created_by=user,
        message="queued",
    )


def agent_options_parse(raw: dict[str, str] | str | list[str] | None) -> dict[str, str]:
    """Agent options as Harbor's `--ak KEY=VALUE`: a dict, or `KEY=VALUE` items (a list, or text with
    one per line or comma). Keys are identifiers; values one line each (they become argv items)."""
    if not raw:
        return {}
    if isinstance(raw, dict):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    else:
        items = raw if isinstance(raw, list) else re.split(r"[\n,]", raw)
        pairs = []
        for item in (i.strip() for i in items):
            if not item:
                continue
            if "=" not in item:
                raise ApplicationError(f"agent option {item[:60]!r} is not KEY=VALUE", {"field": "agent_options"})
            key, value = item.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    if len(pairs) > 20:
        raise ApplicationError("at most 20 agent options", {"field": "agent_options"})
    out = {}
    for key, value in pairs:
        if not _OPTION_KEY.match(key):
            raise ApplicationError(f"agent option name {key[:60]!r} is not an identifier", {"field": "agent_options"})
        if len(value) > 500 or any(c in value for c in "\r\n\0"):
            raise ApplicationError(f"agent option {key} must be one line of at most 500 characters",
                                   {"field": "agent_options"})
        out[key] = value
    return out


def solver_run_start(**kwargs) -> SolverRun:
    """The UI path: make the row, run it on the `solve` queue."""
    run = solver_run_create(**kwargs)
    dispatch(SOLVE_JOB, run.pk)
    return run


def solver_run_cancel(*, run: SolverRun) -> SolverRun:
    """A queued run ends now; a running one is stopped by its watcher within a second or two."""
    SolverRun.objects.filter(pk=run.pk, status=SolverRun.Status.QUEUED).update(
        status=SolverRun.Status.CANCELLED, message="cancelled before it started", finished_at=timezone.now()
    )
    SolverRun.objects.filter(pk=run.pk, status=SolverRun.Status.RUNNING).update(
        cancel_requested=True, message="cancelling"
    )
    run.refresh_from_db()
    return run


def solver_dataset_write(
    version: CatalogVersion, entries: list[CatalogEntry], root: Path
) -> dict[str, CatalogEntry]:
    """The version's tasks as Harbor task directories under `root` (the exporter's own files)."""
    by_id = {}
    for entry in entries:
        write_files(root, harbor_files(task_export_record(entry=entry, version=version), ""))
        by_id[entry.export_id] = entry
    return by_id


def _store_trial(run: SolverRun, by_id: dict[str, CatalogEntry], result: TrialResult) -> None:
    entry = by_id.get(result.task)
    if entry is None:
        return
    attempt = Trial.objects.filter(run=run, export_id=result.task).count() + 1
    Trial.objects.create(
        run=run,
        task=entry.task,
        export_id=result.task,
        name=result.name[:200],
        attempt=attempt,
        reward=result.reward,
        passed=result.passed,
        exception=result.exception[:200],
        exception_message=result.exception_message,
        seconds=result.seconds,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        steps=result.steps,
        trajectory=result.trajectory,
        trajectory_kind=result.trajectory_kind,
        verifier_output=result.verifier_output,
    )
    SolverRun.objects.filter(pk=run.pk).update(
        trials_done=F("trials_done") + 1, trials_passed=F("trials_passed") + int(result.passed)
    )


def _store_progress(run: SolverRun, progress: Progress) -> None:
    current = ", ".join(sorted(set(progress.running)))[:300]
    SolverRun.objects.filter(pk=run.pk).update(
        current=storable(current),
        elapsed=round(progress.elapsed, 1),
        eta=progress.eta,
        message=f"{progress.done}/{progress.total} trials",
    )


def _remove_containers(projects: list[str]) -> int:
    """Harbor's containers of a stopped run (it may not have torn them down after a kill)."""
    if not projects:
        return 0
    import docker

    from studio.lib.dockerctx import docker_client

    client = docker_client()
    removed = 0
    try:
        # the plain form (`sparse`): the full one inspects each container listed, and one compose
        # removed meanwhile raised NotFound (the race the sweep's tests met); so may the removal
        for container in client.containers.list(all=True, sparse=True, filters={"label": "com.docker.compose.project"}):
            if (container.attrs.get("Labels") or {}).get("com.docker.compose.project", "").startswith(tuple(projects)):
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True)
                    removed += 1
    finally:
        client.close()
    return removed


def _agent_kwargs(agent: str, options: dict[str, str] | None = None) -> dict[str, str]:
    """terminus-*: no asciinema recording (it cannot be installed without network), the turn cap;
    then the run's own options, which win (`parser_name=xml` helps small models)."""
    kwargs = {}
    if agent.startswith("terminus"):
        kwargs["record_terminal_session"] = "false"
        if settings.STUDIO_SOLVE_MAX_TURNS:
            kwargs["max_turns"] = str(settings.STUDIO_SOLVE_MAX_TURNS)
    return {**kwargs, **(options or {})}


def _end(run: SolverRun, status: str, message: str, error: str = "") -> None:
    SolverRun.objects.filter(pk=run.pk).update(
        status=status,
        message=storable(message[:300]),
        error=storable(error),
        current="",
        eta=None,
        finished_at=timezone.now(),
    )


def solver_run_execute(*, run: SolverRun) -> SolverRun:
    """Claim a queued run and drive Harbor to the end (or to a cancel); the row ends done, failed
    (with Harbor's last words) or cancelled, and the tasks' measured difficulty is updated."""
    claimed = SolverRun.objects.filter(pk=run.pk, status=SolverRun.Status.QUEUED).update(
        status=SolverRun.Status.RUNNING,
        started_at=timezone.now(),
        worker=worker_id(),
        message="exporting tasks",
    )
    if not claimed:
        run.refresh_from_db()
        return run
    base = Path(settings.STUDIO_SOLVE_DIR) / f"run-{run.pk}"
    dataset = base / "dataset"
    runner: HarborRun | None = None
    try:
        if not Path(settings.STUDIO_HARBOR_BIN).exists():
            raise ApplicationError(
                f"Harbor is not installed at {settings.STUDIO_HARBOR_BIN} "
                "(run scripts/setup-harnesses or set STUDIO_HARBOR_BIN)"
            )
        entries = catalog_version_check(version=run.version)
        shutil.rmtree(base, ignore_errors=True)
        by_id = solver_dataset_write(run.version, entries, dataset)
        spec = RunSpec(
            harbor=settings.STUDIO_HARBOR_BIN,
            dataset=dataset,
            agent=run.agent,
            model=run.model,
            base_url=run.base_url if run.model else "",
            attempts=run.attempts,
            concurrency=run.concurrency,
            jobs_dir=base / "jobs",
            job_name=f"run-{run.pk}",
            agent_kwargs=_agent_kwargs(run.agent, run.agent_options),
        )
        runner = HarborRun(
            spec, total=len(entries) * run.attempts, env=harness_env(api_key=settings.OPENAI_API_KEY)
        )
        SolverRun.objects.filter(pk=run.pk).update(job_dir=str(runner.job_dir), message="starting Harbor")
        runner.start()
        code = runner.watch(
            on_trial=lambda result: _store_trial(run, by_id, result),
            on_progress=lambda progress: _store_progress(run, progress),
            should_stop=lambda: SolverRun.objects.filter(pk=run.pk, cancel_requested=True).exists(),
        )
        run.refresh_from_db()
        if code is None:
            removed = _remove_containers(runner.projects())
            _end(
                run,
                SolverRun.Status.CANCELLED,
                f"cancelled after {run.trials_done}/{run.trials_total} trials"
                + (f"; {removed} container(s) removed" if removed else ""),
            )
        elif run.trials_done < run.trials_total:
            _end(
                run,
                SolverRun.Status.FAILED,
                f"Harbor exited {code} after {run.trials_done}/{run.trials_total} trials",
                runner.log_tail(),
            )
        else:
            _end(run, SolverRun.Status.DONE, f"{run.trials_passed}/{run.trials_done} trials passed")
    except Exception as exc:
        if runner is not None:
            runner.stop()
            _remove_containers(runner.projects())
        reason = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
        _end(run, SolverRun.Status.FAILED, reason[:300], reason)
    finally:
        shutil.rmtree(dataset, ignore_errors=True)  # build contexts are big; the jobs dir keeps the raw files
    task_difficulty_update(task_ids=list(run.version.entries.values_list("task_id", flat=True)))
    run.refresh_from_db()
    return run


def solver_run_sweep_dead() -> int:
    """Runs whose worker died mid-run end failed with the reason (an orphaned `harbor run` finishes its
    trials and exits on its own; nobody records them)."""
    running = list(SolverRun.objects.filter(status=SolverRun.Status.RUNNING).exclude(worker=""))
    dead = workers_dead({r.worker for r in running}) if running else set()
    ended = 0
    for run in (r for r in running if r.worker in dead):
        ended += SolverRun.objects.filter(pk=run.pk, status=SolverRun.Status.RUNNING).update(
            status=SolverRun.Status.FAILED,
            message="crashed",
            error=f"interrupted: worker lost ({run.worker})",
            current="",
            eta=None,
            finished_at=timezone.now(),
        )
    return ended
