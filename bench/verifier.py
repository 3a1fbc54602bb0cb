"""The tamper-evident verifier's overhead: its checks vs. the test run itself, per gold.

    .venv/bin/python bench/verifier.py [--specs pypi:six==1.16.0 ...] [--rounds 3]

Per sdist, in one run (a private data dir and SQLite file): the gold is built (or reused by its
content hash) with its integrity manifest; then, alternating, `rounds` times each in a fresh
container of the gold image:
- plain: the gold's graded test command alone (`testrun.run_tests`: the exact command the
  verifier runs, JUnit XML and the node-id plugin included), and
- verifier: the exported `tests/test.sh` with every stably passing test graded, which stops other
  processes, checks its bootstrap, compares the manifest and then runs that same command.
Printed: medians of the plain run, the whole verifier, its comparison step (from its report), a
bare `docker exec` of `true` (the harness's cost of starting any command, paid by both sides), and
the overhead = (verifier - its own test run - exec) / (plain run - exec): the seconds the integrity
checks add, against the seconds of the tests themselves. `paired_pct` is the median over rounds of
the same ratio inside one verifier run (its checks / its own test run, same container, same moment):
on a loaded machine it moves far less than the ratio of medians taken minutes apart.
Goal: under 10% for a few hundred tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gold import setup_django  # noqa: E402

DEFAULT_SPECS = ["pypi:six==1.16.0", "pypi:pyyaml==6.0.2", "pypi:markupsafe==2.1.5"]


def measure(spec: str, rounds: int) -> dict:
    from inversion.engine.runtime import integrity, testrun
    from inversion.engine.runtime.grading import grading_cmd, stable_passing
    from inversion.engine.runtime.sandbox import Sandbox
    from inversion.services.golds import gold_build
    from inversion.services.repositories import repository_add_spec
    from studio.lib.dockerctx import docker_client

    repo, _ = repository_add_spec(spec=spec)
    gold = gold_build(repository=repo)
    assert gold.status == "ready" and gold.integrity, gold.error
    stable = stable_passing(gold.baseline)
    config = integrity.verifier_config(gold.integrity, {}, integrity.Grading(gold.test_cmd, [], stable, timeout=900))
    files, script = integrity.verifier_files(gold.integrity, config), integrity.run_script(gold.integrity, "harbor")
    client = docker_client(timeout=900)
    plain, whole, compare, graded, bare = [], [], [], [], []
    bytecode: set[str] = set()
    paired: list[float] = []
    for _ in range(rounds):
        out = testrun.OutDir()
        with Sandbox(client, gold.image, kind="bench", instance="bench-verifier", mounts=testrun.mounts(out)) as box:
            run = testrun.run_tests(box, out, test_cmd=grading_cmd(gold.test_cmd), timeout=900)
            plain.append(run.seconds)
        out.cleanup()
        with Sandbox(client, gold.image, kind="bench", instance="bench-verifier") as box:
            bare.append(statistics.median(box.exec("true", timeout=60).seconds for _ in range(3)))
            verdict = integrity.run_verifier(box, files, script, timeout=1200)
        assert verdict.reward == 1, verdict.output[-2000:]
        bytecode.add(verdict.report.get("bytecode", "?"))
        paired.append((verdict.seconds - verdict.report["seconds"]["grade"] - bare[-1]) / verdict.report["seconds"]["grade"])
        whole.append(verdict.seconds)
        compare.append(verdict.report["seconds"]["compare"])
        graded.append(verdict.report["seconds"]["grade"])
    client.close()
    med = statistics.median
    return {"spec": spec, "tests": len(stable), "manifest_files": len(gold.integrity["entries"]),
            "plain_s": round(med(plain), 2), "verifier_s": round(med(whole), 2), "compare_s": round(med(compare), 2),
            "verifier_test_run_s": round(med(graded), 2), "exec_s": round(med(bare), 3),
            "checks_s": round(med(whole) - med(graded) - med(bare), 3), "bytecode": "/".join(sorted(bytecode)),
            "overhead_pct": round(100 * (med(whole) - med(graded) - med(bare)) / (med(plain) - med(bare)), 1),
            "paired_pct": round(100 * med(paired), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=DEFAULT_SPECS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    rows = [measure(spec, args.rounds) for spec in args.specs]
    header = ["spec", "tests", "manifest_files", "plain_s", "verifier_s", "compare_s", "verifier_test_run_s",
              "exec_s", "checks_s", "bytecode", "overhead_pct", "paired_pct"]
    print("\t".join(header))
    for row in rows:
        print("\t".join(str(row[h]) for h in header))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
