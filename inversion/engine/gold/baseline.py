"""Take a gold image's test baseline: the suite N >= 2 times in one bounded sandbox (network
none, limits, labels). Tests whose outcome differs between runs are flaky and never count as
stably passing; the first run also records the dependency surface.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import docker

from inversion.engine.gold import surface as surf
from inversion.engine.runtime import integrity, testrun
from inversion.engine.runtime.grading import grading_cmd
from inversion.engine.runtime.sandbox import Limits, Sandbox

LineCallback = Callable[[str], None]


@dataclass
class Baseline:
    baseline: dict
    surface: dict
    runs: list[testrun.TestRun] = field(default_factory=list)
    seconds: float = 0.0
    integrity: dict = field(default_factory=dict)  # the verifier's manifest of the pristine gold


def run_baseline(
    client: docker.DockerClient,
    image: str,
    *,
    runs: int,
    test_cmd: str,
    owner: str,
    instance: str,
    timeout: float = 900,
    limits: Limits | None = None,
    on_line: LineCallback = lambda line: None,
    worker: str = "",
) -> Baseline:
    """Run the whole suite `runs` times in one sandbox (surface on the first run)."""
    out = testrun.OutDir()
    started = time.monotonic()
    try:
        with Sandbox(client, image, kind="baseline", owner=owner, instance=instance,
                     limits=limits, mounts=testrun.mounts(out), worker=worker) as box:
            results: list[testrun.TestRun] = []
            try:
                manifest = integrity.collect_gold(box, out, test_cmd)  # before any test run: pristine
            except integrity.IntegrityError as exc:
                on_line(f"no integrity manifest: {exc}")
                manifest = {}
            command = grading_cmd(test_cmd)  # as episodes, validation and the exported verifier run it
            for i in range(max(2, runs)):
                on_line(f"baseline run {i + 1}/{max(2, runs)}: {test_cmd}")
                run = testrun.run_tests(box, out, test_cmd=command, timeout=timeout, surface=(i == 0))
                on_line(f"  {run.counts} in {run.seconds:.1f} s (exit {run.exit_code})")
                results.append(run)
            passing = [t for t in results[0].outcomes if all(r.outcomes.get(t) and r.outcomes[t].outcome == "passed"
                                                                for r in results)]
            reordered = []
            if passing:
                # Selection check: the passing tests by id in two interleaved halves, each last first.
                # A test that needs a neighbour (in its half, now run after it, or in the other half)
                # or that fails when selected by id shows here and is set aside as order-dependent.
                on_line(f"selection check: {len(passing)} passing tests by id, in two halves, reversed")
                for half in (passing[0::2], passing[1::2]):
                    if half:
                        reordered.append(testrun.run_tests(box, out, test_cmd=command, test_ids=half[::-1],
                                                           timeout=timeout))
            raw = dict(results[0].surface or {})
            if raw and passing:
                raw["calls"] = _calls(box, out, command, results, timeout, on_line)
            info = surf.image_info(box, out, raw) if raw else {}
            if manifest:
                # The plain command once, as a solver would type it: what the project's own test
                # configuration makes it write (a JUnit file from addopts) is no tampering either.
                on_line(f"as a solver runs it: {test_cmd}")
                box.exec(f"cd /testbed && {test_cmd} > /dev/null 2>&1", timeout=timeout)
                manifest = integrity.add_volatile(box, out, manifest)
                on_line(f"integrity manifest: {len(manifest['entries'])} files, {len(manifest['volatile'])} "
                        "written by the test runs")
    finally:
        out.cleanup()
    baseline = summarize_runs(results, reordered)
    if baseline["order_dependent"]:
        on_line(f"  {len(baseline['order_dependent'])} tests depend on what runs with them (excluded)")
    surface = surf.summarize(raw, info) if raw else {}
    return Baseline(baseline, surface, results, time.monotonic() - started, manifest)


def _calls(box: Sandbox, out: testrun.OutDir, command: str, results: list[testrun.TestRun], timeout: float,
           on_line: LineCallback) -> dict:
    """One more run under a profiler: which installed and stdlib functions each test calls (what a
    fault aimed at one function needs). Its outcomes count for nothing; best effort, time-boxed to a
    few times a plain run."""
    plain = max(r.seconds for r in results)
    limit = min(timeout, max(60.0, 4 * plain))
    on_line(f"call map: the suite once under a profiler (at most {limit:.0f} s)")
    try:
        run = testrun.run_tests(box, out, test_cmd=command, timeout=limit, calls=True)
    except Exception as exc:  # noqa: BLE001 - a map is an extra, never a reason for no gold
        on_line(f"  no call map: {exc}")
        return {}
    calls = run.calls or {}
    on_line(f"  {len(calls.get('functions') or [])} functions some tests call, in {run.seconds:.1f} s"
            if calls else f"  no call map (exit {run.exit_code}, {run.seconds:.1f} s)")
    return calls


def summarize_runs(runs: list[testrun.TestRun], reordered: list[testrun.TestRun] | None = None) -> dict:
    """Per-test outcomes of the first run, the flaky set, the order-dependent set (passing in every
    full run, not in the selection check) and counts (docs/architecture.md)."""
    ids = list(dict.fromkeys(t for r in runs for t in r.outcomes))  # run order: a selection keeps it
    tests, flaky = {}, []
    for tid in ids:
        seen = [r.outcomes.get(tid) for r in runs]
        outcomes = {o.outcome if o else "missing" for o in seen}
        first = next(o for o in seen if o)
        if len(outcomes) > 1:
            flaky.append(tid)
        tests[tid] = {
            "outcome": first.outcome,
            "duration": round(max(o.duration for o in seen if o), 4),
            "message": first.message,
            "outcomes": [o.outcome if o else "missing" for o in seen] if len(outcomes) > 1 else None,
        }
    flaky_set = set(flaky)
    counts = Counter(t["outcome"] for tid, t in tests.items() if tid not in flaky_set)
    stable_passing = [tid for tid, t in tests.items() if tid not in flaky_set and t["outcome"] == "passed"]
    checked = {t: o for r in reordered or [] for t, o in r.outcomes.items()}
    order_dependent = sorted(t for t in stable_passing if t in checked and checked[t].outcome != "passed")
    stable_passing = [t for t in stable_passing if t not in set(order_dependent)]
    slowest = sorted(tests, key=lambda t: tests[t]["duration"], reverse=True)[:10]
    return {
        "runs": [{"seconds": round(r.seconds, 3), "exit_code": r.exit_code, "counts": r.counts,
                  "error": r.error} for r in runs],
        "tests": tests,
        "flaky": flaky,
        "counts": {
            "passed": counts["passed"] - len(order_dependent), "failed": counts["failed"], "error": counts["error"],
            "skipped": counts["skipped"], "flaky": len(flaky), "order_dependent": len(order_dependent),
            "total": len(tests),
        },
        "stable_passing": stable_passing,
        "order_dependent": order_dependent,
        "slowest": [{"id": t, "duration": tests[t]["duration"]} for t in slowest],
    }


def failure_reason(baseline: dict, minimum: int) -> str:
    """Empty when the gold is usable; otherwise one line saying why, with the commonest error."""
    counts = baseline.get("counts") or {}
    passing = len(baseline.get("stable_passing") or [])
    if passing >= minimum:
        return ""
    total = counts.get("total", 0)
    if not total:
        errors = [r.get("error") for r in baseline.get("runs") or [] if r.get("error")]
        return f"no tests ran: {_key_line(errors[0]) if errors else 'pytest collected nothing'}"
    messages = Counter(
        _key_line(t["message"]) for t in (baseline.get("tests") or {}).values()
        if t["outcome"] in ("failed", "error") and t["message"]
    )
    cause = f": {messages.most_common(1)[0][0]}" if messages else ""
    flaky = f" ({counts.get('flaky', 0)} flaky)" if counts.get("flaky") else ""
    return f"{passing} of {total} tests pass{flaky}{cause}"


def _key_line(message: str) -> str:
    """The most telling line of a failure: the last `SomeError: ...` line, else the first line."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    exits = re.findall(r'File "([^"]+\.py)", line \d+, in <module>', message)
    if lines and lines[-1].startswith("SystemExit") and exits:  # pytest's internal error, raised in collection
        return (f"{exits[-1]} exits when imported ({lines[-1]}; a module-level unittest.main() or sys.exit()): "
                "pytest cannot collect it")[:300]
    for line in reversed(lines):
        stripped = re.sub(r"^E\s+", "", line)
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Exit|Warning)\b:?|^Duplicate parametrization|^import file mismatch"
                    r"|^[^:]{1,60}: error: ", stripped):  # the last: argparse's usage errors ("unrecognized arguments")
            return stripped[:300]
    return (lines[0] if lines else message)[:300]
