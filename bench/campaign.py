"""Campaign throughput in the scale mode: the same campaign with 1 worker on 1 engine, then with 2
workers on 2 engines (PostgreSQL, Redis, a second dockerd from scripts/docker-engine-2).

    .venv/bin/python bench/campaign.py [--repos 4] [--episodes 2] [--concurrency 2] [--sources FILE] [--runs 1,2]

Each run gets a fresh database and broker and fresh copies of the sources (so the fetch, the
gold build from the layer cache, the episodes and the validations all run; a second run of the
bench reuses image layers as the studio always does). Prints per run: wall seconds, valid tasks,
tasks/hour, episodes, and the database (commits, rows written) and broker (Redis commands) load,
then the ratio of tasks/hour. Default sources: small generated projects (like the tests'), so the
bench needs no network beyond the package index the gold builds install pytest from.
`--runs 2 --sources bench/campaign-sdists.txt --episodes 1` is the 12-real-sdist campaign of issue 16.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.campaigns.conftest import make_project  # noqa: E402
from tests.support.cluster import Cluster, second_engine  # noqa: E402

FIRST = "unix:///var/run/docker.sock"
NAMES = ["benchalpha", "benchbravo", "benchcharlie", "benchdelta", "benchecho", "benchfoxtrot"]


def _sources(repos: int, where: Path, given: str) -> str:
    listing = where / "sources.txt"
    if given:
        listing.write_text(Path(given).read_text())
    else:
        listing.write_text("".join(f"path:{make_project(where, n)}\n" for n in NAMES[:repos]))
    return str(listing)


def run(engines: list[str], args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp, \
            Cluster(f"bench{len(engines)}", concurrency=args.concurrency) as cluster:
        for i, host in enumerate(engines):
            cluster.worker(f"w{i + 1}", host)
        cluster.wait_workers(len(engines))
        before = cluster.load()
        started = time.monotonic()
        report = cluster.studio("campaign", "run", "--sources", _sources(args.repos, Path(tmp), args.sources),
                                "--episodes-per-gold", str(args.episodes), "--seed", "0", "--wait",
                                "--timeout", str(args.timeout), timeout=args.timeout + 60)
        seconds = time.monotonic() - started
        after = cluster.load()
    t = report["totals"]
    return {"workers": len(engines), "engines": len(engines), "seconds": round(seconds, 1),
            "valid_tasks": t["valid_tasks"], "episodes": t["episodes"], "tasks_per_hour": round(t["valid_tasks"] * 3600 / seconds, 1),
            "golds_ready": t["golds_ready"], "per_engine": report["engines"], "failures": report["failures"],
            "db_commits": after["xact_commit"] - before["xact_commit"],
            "db_rows_written": (after["tup_inserted"] + after["tup_updated"]) - (before["tup_inserted"] + before["tup_updated"]),
            "redis_commands": after["redis_commands"] - before["redis_commands"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=4)
    parser.add_argument("--episodes", type=int, default=2, help="episodes per gold")
    parser.add_argument("--concurrency", type=int, default=2, help="job threads per worker")
    parser.add_argument("--sources", default="", help="a source list instead of generated projects")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--runs", default="1,2", help="which runs: 1 (one worker, one engine), 2 (two and two)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wanted = {int(n) for n in args.runs.split(",")}
    two = second_engine(2) if 2 in wanted else ""
    results = [run(engines, args) for n, engines in ((1, [FIRST]), (2, [FIRST, two])) if n in wanted]
    ratio = None
    if len(results) == 2 and results[0]["tasks_per_hour"]:
        ratio = round(results[1]["tasks_per_hour"] / results[0]["tasks_per_hour"], 2)
    if args.json:
        print(json.dumps({"runs": results, "ratio": ratio}, indent=2))
        return
    for r in results:
        print(f"{r['workers']} worker(s) on {r['engines']} engine(s): {r['valid_tasks']} valid tasks from "
              f"{r['episodes']} episodes in {r['seconds']} s = {r['tasks_per_hour']} tasks/hour; "
              f"DB {r['db_commits']} commits, {r['db_rows_written']} rows written; Redis {r['redis_commands']} commands")
        for e in r["per_engine"]:
            print(f"    {e['engine']}: {e['episodes']} episodes, {e['valid_tasks']} valid tasks")
        for f in r["failures"]:
            print(f"    {f['count']} x {f['reason']}")
        print(f"    golds ready: {r['golds_ready']}")
    print(f"ratio (2 vs 1): {ratio}")


if __name__ == "__main__":
    main()
