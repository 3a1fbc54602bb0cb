"""Solver-run overhead: the studio's solver run (export, `harbor run` watched through its jobs dir,
a Trial row per result, difficulty update) vs a plain `harbor run` of the same task directories
with the same agent and flags, in one run; and trials per hour on this machine.

    .venv/bin/python bench/solve.py [--specs pypi:six==1.16.0 pypi:markupsafe==2.1.5] [--agent oracle]
                                    [--attempts 1] [--concurrency 2] [--rounds 1] [--json out.json]
    .venv/bin/python bench/solve.py --per-spec 5 --agent terminus-2 --model openai/qwen2.5-coder-1.5b \
                                    --base-url http://127.0.0.1:8181/v1 --attempts 2 --no-plain
                                    [--budget 3600]   # a measurement: no plain run, stop at the budget

Tasks come from the real pipeline (gold build, built-in agent episodes, validation: one task per
sdist) in a private data dir. A first plain run warms Harbor's task images (both sides then reuse
them); then each round times a plain run and a studio run. Goal: studio / plain <= 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django() -> None:
    os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="studio-bench-solve-")
    os.environ.setdefault("STUDIO_INSTANCE", f"bench-solve-{os.getpid()}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def plain_harbor(dataset: Path, jobs: Path, args) -> tuple[float, int]:
    """`harbor run` as a person would type it; (seconds, trials written)."""
    from django.conf import settings

    from tasks.engine.harbor import RunSpec, harness_env
    from tasks.services.solver_runs import agent_options_parse

    name = f"plain-{uuid.uuid4().hex[:8]}"
    spec = RunSpec(
        harbor=settings.STUDIO_HARBOR_BIN,
        dataset=dataset,
        agent=args.agent,
        jobs_dir=jobs,
        job_name=name,
        attempts=args.attempts,
        concurrency=args.concurrency,
        agent_kwargs=agent_options_parse(args.agent_options),  # what the studio run gives Harbor
    )
    started = time.monotonic()
    subprocess.run(spec.command(), env=harness_env(), capture_output=True, check=False)
    seconds = time.monotonic() - started
    return seconds, len(list((jobs / name).glob("*/result.json")))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--specs", nargs="+", default=["pypi:six==1.16.0", "pypi:markupsafe==2.1.5"])
    parser.add_argument("--agent", default="oracle")
    parser.add_argument("--attempts", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--per-spec", type=int, default=1, help="validated tasks per sdist")
    parser.add_argument("--model", default="")
    parser.add_argument("--base-url", default="")
    parser.add_argument("--no-plain", action="store_true", help="only the studio run (a measurement)")
    parser.add_argument(
        "--budget", type=float, default=0, help="cancel the studio run after this many seconds"
    )
    parser.add_argument("--json", help="also write the numbers here")
    parser.add_argument("--agent-option", "--ak", dest="agent_options", action="append", default=[],
                        metavar="KEY=VALUE", help="an agent option for both runs (Harbor's --ak), e.g. parser_name=xml")
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model

    from studio.lib.roles import admin_user
    from tasks.models import CatalogVersion
    from tasks.selectors.solver_runs import solver_run_summary
    from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create, catalog_version_check
    from tasks.services.solver_runs import (
        solver_dataset_write,
        solver_run_cancel,
        solver_run_create,
        solver_run_execute,
    )
    from tests.support.harness_kit import pipeline_tasks

    get_user_model().objects.create_superuser("bench", "", "bench")
    user = admin_user()
    t0 = time.monotonic()
    tasks = pipeline_tasks(user, tuple(args.specs), per_spec=args.per_spec)
    for task in tasks:
        task.state = "approved"
        task.save(update_fields=["state"])
    version: CatalogVersion = catalog_add_tasks(
        catalog=catalog_get_or_create(name="bench"), tasks=tasks, user=user
    )
    print(f"{len(tasks)} tasks from the pipeline in {time.monotonic() - t0:.0f}s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="studio-bench-harbor-"))
    dataset = work / "dataset"
    solver_dataset_write(version, catalog_version_check(version=version), dataset)
    if args.no_plain:
        args.rounds = 1
    else:
        warm, _ = plain_harbor(dataset, work / "jobs", args)
        print(f"warm-up plain run (builds the task images): {warm:.1f}s", flush=True)
    rounds = []
    for n in range(args.rounds):
        plain, plain_trials = (0.0, 0) if args.no_plain else plain_harbor(dataset, work / "jobs", args)
        started = time.monotonic()
        run = solver_run_create(
            version=version,
            agent=args.agent,
            model=args.model,
            base_url=args.base_url,
            attempts=args.attempts,
            concurrency=args.concurrency,
            agent_options=args.agent_options,
            user=user,
        )
        if args.budget:
            timer = threading.Timer(args.budget, solver_run_cancel, kwargs={"run": run})
            timer.daemon = True
            timer.start()
        run = solver_run_execute(run=run)
        studio = time.monotonic() - started
        rounds.append(
            {
                "plain_s": round(plain, 1),
                "plain_trials": plain_trials,
                "studio_s": round(studio, 1),
                "studio_trials": run.trials_done,
                "studio_status": run.status,
                "pass_rate": run.pass_rate,
                "ratio": round(studio / plain, 3) if plain else None,
                "summary": solver_run_summary(run=run),
            }
        )
        ratio = f" · ratio {studio / plain:.2f}" if plain else ""
        print(
            f"round {n + 1}: plain {plain:.1f}s ({plain_trials} trials) · studio {studio:.1f}s "
            f"({run.trials_done} trials, {run.status}, pass rate {run.pass_rate}){ratio}",
            flush=True,
        )
    studio_total = sum(r["studio_s"] for r in rounds)
    trials_total = sum(r["studio_trials"] for r in rounds)
    summary = {
        "agent": args.agent,
        "tasks": len(tasks),
        "attempts": args.attempts,
        "concurrency": args.concurrency,
        "agent_options": args.agent_options,
        "cores": os.cpu_count(),
        "rounds": rounds,
        "ratio": None if args.no_plain else round(studio_total / sum(r["plain_s"] for r in rounds), 3),
        "trials_per_hour": round(trials_total / studio_total * 3600, 1) if studio_total else 0,
    }
    print(json.dumps(summary, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
