"""Gold build overhead on real sdists: studio vs plain docker, cached re-add, baseline vs plain pytest;
and (--yield) how many unseen real sdists become gold and give validated tasks with no hand edit.

    .venv/bin/python bench/gold.py [--specs pypi:six==1.16.0 ...] [--rounds 3]
    .venv/bin/python bench/gold.py --yield [--specs ...] [--episodes 3] [--json out.json]

Yield mode: each sdist goes repo add -> gold (the set-up loop) -> N built-in episodes -> validation,
in a private data dir; prints per repository the gold outcome, set-up attempts and their changes,
valid tasks of N, seconds; then gold yield and task yield (goals: >= 90% gold, >= 80% tasks).
The default list was chosen apart from the sdists the set-up rules were studied on: different
authors and eras (2014-2023), 8 C extensions, 3 on system libraries (libssl, liblzo2, libgmp).

Per sdist, in one run (a private data dir and SQLite file; images are labelled and tagged
like the studio's own, plain images are removed afterwards):
- build: a plain `docker build --no-cache --network host` of the exact context and Dockerfile
  the studio uses, then the studio's `gold_build(nocache=True)` (build + log rows + broadcast,
  then the baseline). Both skip the layer cache, so both start from the same state: the base
  image only. pip downloads go over the network both times (no pip cache in the image).
- cached re-add: `repository_add_spec` of the same spec plus `gold_build` (idempotent add, ready
  gold and image reused), timed in process.
- tests: one studio baseline run (exec in a running sandbox, JUnit XML + plugin) vs a plain
  `docker run --rm --network none IMAGE python -m pytest -p no:cacheprovider -q`; the whole
  studio baseline (container start, 2 runs, surface lookup) is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPECS = ["pypi:six==1.16.0", "pypi:markupsafe==2.1.5", "pypi:pyyaml==6.0.2"]
YIELD_SPECS = [
    "pypi:bitarray==2.6.0", "pypi:zope.interface==5.4.0", "pypi:regex==2022.10.31", "pypi:setproctitle==1.3.2",
    "pypi:multidict==6.0.4", "pypi:cryptography==3.3.2", "pypi:python-lzo==1.15", "pypi:gmpy2==2.1.5",
    "pypi:iso8601==1.1.0", "pypi:attrs==21.4.0", "pypi:cachetools==4.2.4", "pypi:python-dateutil==2.8.2",
    "pypi:python-slugify==5.0.2", "pypi:tabulate==0.8.10", "pypi:toolz==0.11.2", "pypi:wcwidth==0.2.5",
]
# Left out since they ship no tests in their sdists (the studio refuses them at `repo add`, rightly):
# jmespath 0.10.0, sortedcontainers 2.4.0, docopt 0.6.2.


def setup_django(data: str | None = None) -> None:
    """Django on a private data dir (a new one, or `data` to read what an earlier run made)."""
    data = data or tempfile.mkdtemp(prefix="studio-bench-gold-")
    os.environ["STUDIO_DATA_DIR"] = data
    os.environ.setdefault("STUDIO_INSTANCE", f"bench-gold-{os.getpid()}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - started


def plain_build(repo, dockerfile: str, tag: str) -> float:
    from inversion.engine.gold.build import write_context
    from studio.lib.cabundle import extra_ca_bundle

    with tempfile.TemporaryDirectory(prefix="bench-ctx-") as ctx:
        with tempfile.TemporaryFile() as fh:
            write_context(Path(repo.snapshot_path), dockerfile, extra_ca_bundle(), fh)
            fh.seek(0)
            with tarfile.open(fileobj=fh) as tar:
                tar.extractall(ctx, filter="data")
        cmd = ["docker", "build", "--no-cache", "--network", "host", "-q", "-t", tag, ctx]
        _, seconds = timed(subprocess.run, cmd, check=True, capture_output=True)
    return seconds


def plain_pytest(image: str, test_cmd: str) -> float:
    cmd = ["docker", "run", "--rm", "--network", "none", "-w", "/testbed", "--cpus", "1", "--memory", "2g",
           "--pids-limit", "1024", image,
           "bash", "-c", f"{test_cmd} -p no:cacheprovider -q >/dev/null"]
    _, seconds = timed(subprocess.run, cmd, capture_output=True)
    return seconds


def bench_one(spec: str, rounds: int) -> dict:
    from inversion.services.golds import gold_build, gold_dockerfile
    from inversion.services.repositories import repository_add_spec

    (repo, _), add_seconds = timed(repository_add_spec, spec=spec)
    dockerfile = gold_dockerfile(repository=repo)
    plain_tag = f"bench-plain/{repo.name}:latest"
    plains, studios = [], []
    for i in range(rounds):  # alternate who goes first: network and neighbours vary over time
        if i % 2:
            gold = gold_build(repository=repo, nocache=True)
            plains.append(plain_build(repo, dockerfile, plain_tag))
        else:
            plains.append(plain_build(repo, dockerfile, plain_tag))
            gold = gold_build(repository=repo, nocache=True)
        assert gold.status == "ready", gold.error
        studios.append(gold.build_seconds)
    plain_seconds = statistics.median(plains)
    (_, _), readd_add = timed(repository_add_spec, spec=spec)
    cached, readd_build = timed(gold_build, repository=repo)
    assert cached.pk == gold.pk
    plain_test = min(plain_pytest(gold.image, gold.test_cmd) for _ in range(2))
    studio_run = min(r["seconds"] for r in gold.baseline["runs"])
    subprocess.run(["docker", "rmi", "-f", plain_tag], capture_output=True)
    return {
        "spec": spec, "tests": gold.counts.get("total"), "fetch": add_seconds,
        "plain_build": plain_seconds, "studio_build": statistics.median(studios),
        "readd": readd_add + readd_build, "plain_test": plain_test, "studio_run": studio_run,
        "studio_baseline": gold.test_seconds, "runs": len(gold.baseline["runs"]),
    }


def pct(a: float, b: float) -> str:
    return f"{(a - b) / b * 100:+.1f}%"


def yield_one(spec: str, episodes: int, seed: int) -> dict:
    """One sdist through the whole method; never raises (a failure is a row)."""
    from inversion.models import Episode
    from inversion.services.episodes import episode_batch_launch, episode_run
    from inversion.services.golds import gold_build
    from inversion.services.repositories import repository_add_spec
    from studio.lib.exceptions import ApplicationError
    from tasks.services.materialize import task_materialize

    started = time.monotonic()
    row = {"spec": spec, "gold": "failed", "attempts": [], "reason": "", "tasks": 0, "episodes": 0,
           "gold_seconds": 0.0, "episode_seconds": 0.0, "rules": {}}
    try:
        repo, _ = repository_add_spec(spec=spec)
        gold = gold_build(repository=repo)
    except ApplicationError as exc:
        return {**row, "reason": f"add: {exc}", "gold_seconds": time.monotonic() - started}
    row.update(gold=gold.status, attempts=[a["change"] for a in gold.attempts], reason=gold.error,
               gold_seconds=time.monotonic() - started, passing=len(gold.baseline.get("stable_passing") or []),
               order_dependent=len(gold.baseline.get("order_dependent") or []))
    if gold.status != "ready":
        return row
    began = time.monotonic()
    for episode in episode_batch_launch(golds=[gold], count=episodes, agent="builtin", seed=seed):
        episode = episode_run(episode=episode, handoff=False)
        row["episodes"] += 1
        if episode.status == Episode.Status.VALIDATING and task_materialize(episode=episode) is not None:
            row["tasks"] += 1
        else:
            episode.refresh_from_db()
            key = episode.failed_rule or episode.status
            row["rules"][key] = row["rules"].get(key, 0) + 1
    row["episode_seconds"] = time.monotonic() - began
    return row


def yield_mode(specs: list[str], episodes: int, out: str) -> None:
    rows = []
    print(f"{'sdist':32} {'gold':6} {'att':>3} {'pass':>5} {'tasks':>5} {'gold s':>7} {'eps s':>7}  changes / reason")
    for i, spec in enumerate(specs):
        r = yield_one(spec, episodes, seed=100 + i)
        rows.append(r)
        detail = "; ".join(r["attempts"][1:]) or "-"
        if r["gold"] != "ready":
            detail = r["reason"]
        elif r["rules"]:
            detail += f"  no task: {r['rules']}"
        print(f"{spec:32} {r['gold']:6} {len(r['attempts']):>3} {r.get('passing', 0):>5} "
              f"{r['tasks']:>2}/{r['episodes']:<2} {r['gold_seconds']:>7.0f} {r['episode_seconds']:>7.0f}  {detail}",
              flush=True)
    golds = sum(r["gold"] == "ready" for r in rows)
    tasks, eps = sum(r["tasks"] for r in rows), sum(r["episodes"] for r in rows)
    print(f"gold yield {golds}/{len(rows)} = {100 * golds / len(rows):.0f}% (goal >= 90%); "
          f"task yield {tasks}/{eps} = {100 * tasks / max(eps, 1):.0f}% of episodes on ready golds (goal >= 80%)")
    print(f"median gold seconds {statistics.median(r['gold_seconds'] for r in rows):.0f}; "
          f"set-up attempts: {sum(len(r['attempts']) for r in rows)} over {len(rows)} repositories")
    if out:
        Path(out).write_text(json.dumps(rows, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=None)
    parser.add_argument("--rounds", type=int, default=1, help="builds per side (median; order alternates)")
    parser.add_argument("--yield", dest="yield_", action="store_true", help="gold and task yield on unseen sdists")
    parser.add_argument("--episodes", type=int, default=3, help="built-in episodes per gold (yield mode)")
    parser.add_argument("--json", default="", help="write the yield rows here")
    args = parser.parse_args()
    setup_django()
    if args.yield_:
        return yield_mode(args.specs or YIELD_SPECS, args.episodes, args.json)
    args.specs = args.specs or DEFAULT_SPECS
    rows = [bench_one(spec, args.rounds) for spec in args.specs]
    print(f"{'sdist':28} {'tests':>5} {'fetch':>6} | {'build plain':>11} {'studio':>7} {'over':>7} | "
          f"{'re-add':>7} | {'pytest plain':>12} {'studio run':>10} {'over':>7} | {'plain xN':>8} {'baseline':>8}")
    for r in rows:
        print(f"{r['spec']:28} {r['tests']:>5} {r['fetch']:>5.1f}s | {r['plain_build']:>10.1f}s "
              f"{r['studio_build']:>6.1f}s {pct(r['studio_build'], r['plain_build']):>7} | {r['readd']:>6.3f}s | "
              f"{r['plain_test']:>11.2f}s {r['studio_run']:>9.2f}s {pct(r['studio_run'], r['plain_test']):>7} | "
              f"{r['plain_test'] * r['runs']:>7.1f}s {r['studio_baseline']:>7.1f}s")
    print(f"build: median of {args.rounds} --no-cache builds per side from the base image, order alternating;")
    print("run: exec in a running sandbox vs docker run (incl. start), both --cpus 1 --memory 2g;")
    print("plain xN: N plain docker runs vs the whole studio baseline (1 container, N runs, surface lookup)")


if __name__ == "__main__":
    main()
