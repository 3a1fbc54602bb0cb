"""The tamper-evident verifier's overhead: its checks vs. the test run itself, per gold.

    .venv/bin/python bench/verifier.py [--specs pypi:six==1.16.0 ...] [--rounds 3]

Per sdist, in one run (a private data dir and SQLite file): the gold is built (or reused by its
content hash) with its integrity manifest; then, alternating, `rounds` times each in a fresh
container of the gold image:
- plain: the gold's graded test command alone (`testrun.run_tests`: the exact command the
  verifier runs, JUnit XML and the node-id plugin included), and
- the exported `tests/test.sh` with every stably passing test graded (it stops other processes,
  checks its bootstrap, compares the manifest, then runs that same command), three ways:
  `full` (a config without a dirty list: every file is read, as exports before the fast walk),
  `fast` (the dirty list of a task whose broken image equals the gold: only what changed since the
  container started is read) and `touched` (fast, after the suite ran once in /testbed as an
  agent's last command would: its caches make /testbed new, so all of /testbed is read).
Printed per way: `checks_s` = median verifier - median own test run - median bare `docker exec
true` (the harness's cost of any command), `compare_s` (the walk and comparison, from its report),
`pct` = checks / (plain run - exec), the seconds the integrity checks add against the tests
themselves, and `paired_pct`, the median over rounds of the same ratio inside one verifier run
(same container, same moment): on a loaded machine it moves far less than a ratio of medians.
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


WALKS = ("full", "fast", "touched")


def _verify(client, image: str, files: dict, script: str, before: str) -> tuple:
    """One verifier run in a fresh container (after `before`, as an agent's last command) and the
    median of three bare `docker exec true` in it."""
    from inversion.engine.runtime import integrity
    from inversion.engine.runtime.sandbox import Sandbox

    with Sandbox(client, image, kind="bench", instance="bench-verifier") as box:
        if before:
            assert box.exec(before, timeout=900).exit_code in (0, 1)
        bare = statistics.median(box.exec("true", timeout=60).seconds for _ in range(3))
        verdict = integrity.run_verifier(box, files, script, timeout=1200)
    assert verdict.reward == 1, verdict.output[-2000:]
    return verdict, bare


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
    grading = integrity.Grading(gold.test_cmd, [], stable, timeout=900)
    script = integrity.run_script(gold.integrity, "harbor")
    files = {"full": integrity.verifier_files(gold.integrity, integrity.verifier_config(gold.integrity, {}, grading))}
    files["fast"] = files["touched"] = integrity.verifier_files(
        gold.integrity, integrity.verifier_config(gold.integrity, {"dirty": []}, grading))
    # the agent's last act in `touched`: the suite once, in /testbed (its caches make /testbed new)
    before = {"full": "", "fast": "", "touched": f"cd /testbed && {gold.test_cmd} -q >/dev/null 2>&1"}
    client = docker_client(timeout=900)
    plain: list[float] = []
    got: dict[str, dict[str, list[float]]] = {w: {"whole": [], "grade": [], "compare": [], "bare": [], "paired": []}
                                              for w in WALKS}
    for _ in range(rounds):
        out = testrun.OutDir()
        with Sandbox(client, gold.image, kind="bench", instance="bench-verifier", mounts=testrun.mounts(out)) as box:
            plain.append(testrun.run_tests(box, out, test_cmd=grading_cmd(gold.test_cmd), timeout=900).seconds)
        out.cleanup()
        for walk in WALKS:
            verdict, bare = _verify(client, gold.image, files[walk], script, before[walk])
            assert verdict.report.get("walk") == ("full" if walk == "full" else "fast"), verdict.report
            grade, row = verdict.report["seconds"]["grade"], got[walk]
            row["whole"].append(verdict.seconds)
            row["grade"].append(grade)
            row["compare"].append(verdict.report["seconds"]["compare"])
            row["bare"].append(bare)
            row["paired"].append((verdict.seconds - grade - bare) / grade)
    client.close()
    med = statistics.median
    result = {"spec": spec, "tests": len(stable), "manifest_files": len(gold.integrity["entries"]),
              "plain_s": round(med(plain), 2)}
    for walk, row in got.items():
        checks = med(row["whole"]) - med(row["grade"]) - med(row["bare"])
        result |= {f"{walk}_checks_s": round(checks, 3), f"{walk}_compare_s": round(med(row["compare"]), 3),
                   f"{walk}_pct": round(100 * checks / (med(plain) - med(row["bare"])), 1),
                   f"{walk}_paired_pct": round(100 * med(row["paired"]), 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=DEFAULT_SPECS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    rows = [measure(spec, args.rounds) for spec in args.specs]
    header = ["spec", "tests", "manifest_files", "plain_s"] + [
        f"{w}_{k}" for w in WALKS for k in ("checks_s", "compare_s", "pct", "paired_pct")]
    print("\t".join(header))
    for row in rows:
        print("\t".join(str(row[h]) for h in header))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
