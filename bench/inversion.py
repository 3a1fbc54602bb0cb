"""Inversion throughput: a batch of built-in episodes over real PyPI sdists, end to end.

    .venv/bin/python bench/inversion.py [--episodes 20] [--sdists pypi:A==1 pypi:B==2 ...]

Runs in a private data dir (SQLite) with the embedded worker, through the real services and jobs:
`studio repo add` + `studio gold build` (cached images are reused), then `episode_batch_launch`
split over the golds, then waits for every episode and its validation. Prints yield, distinct
categories, mean F2P/P2P per task, Dockerfile delta lines, seconds per validated task (wall time
of the batch / tasks), tasks per hour, tokens per valid task, and the per-step overhead of the
studio loop (agent decision + exec + change detection + event row + broadcast) against a raw
SDK `docker exec` of the same command, measured in the same run.
Goals: yield >= 80%, >= 8 categories, step overhead <= 1.5x, >= 150 validated tasks/hour (~3 s suite).

Diversity, per repository (`--faults 2` asks for compound tasks; `--skip-overhead` skips the step
measurement): distinct signatures (goal >= 12 of 20 episodes), categories (>= 8), compound share of
the episodes asked (>= 30% valid), mean delta lines of compound tasks (>= 6.8), near-duplicate rate
within the batch (<= 5%), the largest family's share (<= 20%) and the share of tasks whose F2P is the
whole suite (<= 30%).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
# Small real sdists with fast suites whose tests reach past pure Python: sqlite3 and asyncio/ssl
# (libsqlite3, libssl), requests/urllib3/certifi (third-party site packages), pytest's tmpdir.
DEFAULT_SDISTS = ["pypi:sqlitedict==2.1.0", "pypi:requests-file==2.1.0", "pypi:atomicwrites==1.4.1"]
STEP_COMMAND = "ls /opt/venv/lib && cat /etc/os-release > /dev/null"


def _setup(data_dir: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ["STUDIO_DATA_DIR"] = data_dir or tempfile.mkdtemp(prefix="studio-bench-")
    os.environ.setdefault("STUDIO_INSTANCE", f"bench-{os.getpid()}")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _cli(*args: str) -> dict:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("studio", "--json", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _golds(specs: list[str]) -> list:
    from inversion.models import GoldEnvironment

    golds = []
    for spec in specs:
        started = time.monotonic()
        repo = _cli("repo", "add", spec)
        gold = _cli("gold", "build", str(repo["id"]))
        g = GoldEnvironment.objects.get(pk=gold["id"])
        runs = g.baseline.get("runs", [])
        suite = statistics.mean(r["seconds"] for r in runs) if runs else 0.0
        print(f"gold {spec}: #{g.pk} {g.status} baseline {g.baseline.get('counts')} suite {suite:.1f} s"
              f" (ready in {time.monotonic() - started:.0f} s)", flush=True)
        if g.status == GoldEnvironment.Status.READY:
            golds.append(g)
    return golds


class _Repeat:
    """An agent that runs the same read-only command n times (for the step overhead)."""

    kind = "bench"

    def __init__(self, n: int) -> None:
        from inversion.engine.episode.actions import Finish, RunCommand
        from inversion.engine.episode.agents.base import Decision

        self.decisions = [Decision(RunCommand(STEP_COMMAND)) for _ in range(n)]
        self.decisions.append(Decision(Finish("none", "bench", "")))

    def start(self, context) -> None:
        self.context = context

    def next_action(self, last):
        return self.decisions.pop(0)


def _step_overhead(gold, n: int = 15) -> tuple[float, float]:
    """(median studio step seconds, median raw exec seconds) for the same command, interleaved:
    after each studio step, the same command runs once through a raw SDK exec in a twin container
    (its time is taken out of the studio's next interval)."""
    from inversion.engine.episode.agents.base import AgentContext
    from inversion.engine.episode.loop import EpisodeSpec, run_episode
    from inversion.models import Episode
    from inversion.services.events import episode_event_add
    from studio.lib.dockerctx import docker_client

    client = docker_client()
    image = gold.image or gold.image_id
    twin = client.containers.run(image, ["sleep", "infinity"], detach=True, network_mode="none", init=True)
    episode = Episode.objects.create(gold=gold, agent="builtin", status="running")
    marks: list[tuple[float, float]] = []  # (time the step ended, raw seconds spent after it)
    raw: list[float] = []

    def emit(kind, payload, ms, pt, ct):
        episode_event_add(episode_id=episode.pk, kind=kind, payload=payload, duration_ms=ms)
        if kind == "command":
            end = time.perf_counter()
            t0 = time.perf_counter()
            twin.exec_run(["/bin/bash", "-c", STEP_COMMAND], workdir="/testbed")
            raw.append(time.perf_counter() - t0)
            marks.append((end, raw[-1]))

    spec = EpisodeSpec(image=image, baseline=gold.baseline, instance=os.environ["STUDIO_INSTANCE"])
    try:
        run_episode(client, spec, _Repeat(n), AgentContext(repository={}, baseline=gold.baseline, surface={}), emit=emit)
    finally:
        twin.remove(force=True)
        client.close()
    episode.delete()
    steps = [b[0] - a[0] - a[1] for a, b in zip(marks, marks[1:], strict=False)]
    return statistics.median(steps), statistics.median(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--sdists", nargs="+", default=DEFAULT_SDISTS)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faults", type=int, default=1, choices=[1, 2, 3], help="faults per task asked for")
    parser.add_argument("--whole-share", type=float, default=None, help="cap on whole-suite tasks per gold (1: none)")
    parser.add_argument("--per-repo", action="store_true", help="--episodes per repository (else split over them)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--report-only", action="store_true",
                        help="print the diversity measures of the episodes already in --data-dir (e.g. mid-run)")
    args = parser.parse_args()
    _setup(args.data_dir)
    if args.report_only:
        from inversion.models import Episode
        from tasks.models import Task

        done = list(Episode.objects.exclude(status__in=Episode.ACTIVE).select_related("gold__repository"))
        print(f"finished episodes: {len(done)} (still active: {Episode.objects.filter(status__in=Episode.ACTIVE).count()})")
        _diversity(done, list(Task.objects.filter(episode__in=done).select_related("gold__repository")), args.faults)
        return

    from inversion.services.episodes import episode_batch_launch, episode_batch_wait
    from studio.embedded import start_embedded_worker
    from tasks.models import Task

    golds = _golds(args.sdists)
    if not golds:
        sys.exit("no gold environment is ready")
    studio_step, raw_step = (None, None) if args.skip_overhead else _step_overhead(golds[0])
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    start_embedded_worker()
    started = time.monotonic()
    episodes = []
    try:
        for i, gold in enumerate(golds):
            n = args.episodes if args.per_repo else args.episodes // len(golds) + (1 if i < args.episodes % len(golds) else 0)
            episodes += episode_batch_launch(golds=[gold], count=n, agent="builtin", seed=args.seed + 100 * i,
                                             faults=args.faults, whole_share=args.whole_share)
        done = episode_batch_wait(episodes=episodes, timeout=7200)
    except KeyboardInterrupt:
        _leave_nothing(130)
    except SystemExit as stop:
        _leave_nothing(stop.code if isinstance(stop.code, int) else 1)
    wall = time.monotonic() - started
    tasks = list(Task.objects.filter(episode__in=done))
    by_status: dict[str, int] = {}
    for e in done:
        by_status[e.status] = by_status.get(e.status, 0) + 1
    failed_rules = [e.failed_rule or e.reason[:60] for e in done if e.status != "succeeded"]
    from tasks.selectors.diversity import task_categories

    cats = sorted({c for t in tasks for c in task_categories(t)})
    tokens = sum(t.prompt_tokens + t.completion_tokens for t in tasks)
    print(f"episodes: {len(done)}  by status: {by_status}")
    if failed_rules:
        print(f"not valid: {failed_rules}")
    print(f"yield: {len(tasks)}/{len(done)} = {100 * len(tasks) / max(1, len(done)):.0f}%   (goal >= 80%)")
    print(f"distinct categories: {len(cats)} {cats}   (goal >= 8)")
    if tasks:
        print(f"mean F2P per task: {statistics.mean(len(t.fail_to_pass) for t in tasks):.1f}   "
              f"mean P2P per task: {statistics.mean(len(t.pass_to_pass) for t in tasks):.1f}")
        delta = [len([ln for ln in t.dockerfile_delta.splitlines() if ln.strip()]) for t in tasks]
        print(f"Dockerfile delta lines: mean {statistics.mean(delta):.1f}, max {max(delta)}")
        per_task = wall / len(tasks)
        print(f"seconds per validated task: {per_task:.1f}  ->  {3600 / per_task:.0f} validated tasks/hour"
              f"   (goal >= 150; batch wall time {wall:.0f} s)")
        print(f"tokens per valid task: {tokens / len(tasks):.0f}" if tokens else "tokens per valid task: 0 (built-in agent, no LLM)")
    if studio_step is not None:
        print(f"step: studio {studio_step * 1000:.0f} ms vs raw docker exec {raw_step * 1000:.0f} ms  ->  "
              f"{studio_step / raw_step:.2f}x   (goal <= 1.5x)")
    _diversity(done, tasks, args.faults)


def _leave_nothing(code: int) -> None:
    """Stopped mid-batch (SIGTERM, Ctrl-C): a sweep takes a worker's containers only once its process
    is gone, and nothing sweeps after the bench. End its unfinished episodes with the reason, remove
    its containers and validation images, and exit at once (a warm stop of the worker would wait for
    the episodes). A job thread may start a container until the exit: a detached reaper removes what
    carries this worker's label once the process is gone."""
    from django.utils import timezone

    from inversion.models import Episode
    from studio.lib.dockerctx import endpoint
    from studio.lib.workers import worker_id

    ended = Episode.objects.filter(status__in=Episode.ACTIVE).update(  # the bench's own data dir: all are its
        status=Episode.Status.ERROR, reason="interrupted: the bench was stopped", finished_at=timezone.now())
    me, engine = worker_id(), endpoint()
    _reap(me, engine)
    subprocess.Popen([sys.executable, __file__, "--reap", me, engine, str(os.getpid())], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"stopped: {ended} unfinished episodes ended, their containers removed", flush=True)
    sys.stderr.flush()
    os._exit(code)


def _reap(worker: str, engine: str, pid: int | None = None) -> None:
    """Remove the containers and validation images labelled with `worker` on `engine` (once `pid`
    has exited)."""
    while pid is not None and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)
    from inversion.engine.runtime import labels as lbl

    client = docker.DockerClient(base_url=engine, timeout=120)
    mine = {"label": [f"{lbl.WORKER}={worker}"]}
    try:
        removals = [lambda c=c: client.api.remove_container(c["Id"], force=True, v=True)
                    for c in client.api.containers(all=True, filters=mine)]
        for remove in removals:
            _quietly(remove)
        for image in client.images.list(filters=mine):  # after the containers that use them
            _quietly(lambda i=image: client.images.remove(i.id, force=True))
    finally:
        client.close()


def _quietly(remove) -> None:
    with contextlib.suppress(docker.errors.DockerException):  # gone meanwhile, or used by a container started since
        remove()


def _delta_lines(task) -> int:
    return len([ln for ln in task.dockerfile_delta.splitlines() if ln.strip()])


def _diversity(done: list, tasks: list, faults: int) -> None:
    """The diversity goals, per repository, over this batch's episodes and valid tasks."""
    from tasks.selectors.diversity import diversity_of

    by_repo: dict[str, list] = {}
    for e in done:
        by_repo.setdefault(e.gold.repository.name, [])
    for t in tasks:
        by_repo[t.gold.repository.name].append(t)
    for repo, mine in sorted(by_repo.items()):
        asked = sum(1 for e in done if e.gold.repository.name == repo)
        report = diversity_of(mine)
        compound = [t for t in mine if t.fault_count > 1]
        lines = statistics.mean(_delta_lines(t) for t in compound) if compound else 0.0
        print(f"\n[{repo}] {len(mine)} valid tasks of {asked} episodes")
        print(f"  distinct signatures: {report['distinct_signatures']}   (goal >= 12)")
        print(f"  categories: {len(report['categories'])} {sorted(report['categories'])}   (goal >= 8)")
        if faults > 1:
            print(f"  compound share: {len(compound)}/{asked} = {len(compound) / max(1, asked):.0%} valid   (goal >= 30%)")
            print(f"  mean delta lines of compound tasks: {lines:.1f}   (goal >= 6.8)")
        print(f"  near-duplicate rate: {report['near_duplicate_rate']:.0%}   (goal <= 5%)")
        top = report["largest_family"]
        print(f"  largest family: {top['name']} in {top['share']:.0%} of tasks   (goal <= 20%), "
              f"{top['of_faults']:.0%} of the faults laid; an even spread of these layers over the "
              f"{len(report['families'])} families laid would put one in {top['floor']:.0%}")
        print(f"  F2P is the whole suite: {report['whole_suite_share']:.0%}   (goal <= 30%); 90% of it or more: "
              f"{report['near_whole_share']:.0%}")
        print(f"  distinct F2P sets: {report['failing_sets']['distinct']}, the commonest failed by "
              f"{report['failing_sets']['largest_share']:.0%} of tasks")
        print(f"  families: {report['families']}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--reap"]:  # the detached reaper `_leave_nothing` starts
        sys.path.insert(0, str(ROOT))
        _reap(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
