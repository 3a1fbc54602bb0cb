"""Run a pytest suite inside a sandbox and parse the JUnit XML into per-test outcomes.

Results come from `--junitxml`, never from console text. Test ids are the exact pytest node
ids: the mounted plugin (inversion/support/studio_pytest_plugin.py) stores each one as a JUnit
property. When the runner produces no XML at all (interpreter broken, pytest missing), every
requested test counts as an error with the console tail as its message.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from docker.types import Mount

from inversion.engine.runtime.sandbox import ExecResult, Sandbox

SUPPORT_DIR = Path(__file__).resolve().parent / "pytest_plugin"
SUPPORT_MOUNT = "/opt/studio-support"
OUT_MOUNT = "/opt/studio-out"
DEFAULT_TEST_CMD = "python -m pytest"
MESSAGE_LIMIT = 4000
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


@dataclass
class TestOutcome:
    __test__ = False
    id: str
    outcome: str
    duration: float = 0.0
    message: str = ""


@dataclass
class TestRun:
    __test__ = False
    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    exit_code: int | None = None
    seconds: float = 0.0
    output: str = ""
    error: str = ""
    surface: dict | None = None
    calls: dict | None = None  # which installed and stdlib functions the tests call (a run of its own)
    prepare_exit: int | None = None  # exit code of a script run before the tests (validation's oracle)

    def ids(self, outcome: str) -> set[str]:
        return {tid for tid, o in self.outcomes.items() if o.outcome == outcome}

    @property
    def counts(self) -> dict[str, int]:
        counts = {PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0}
        for o in self.outcomes.values():
            counts[o.outcome] = counts.get(o.outcome, 0) + 1
        return counts

    def as_dict(self) -> dict:
        return {
            "outcomes": {k: asdict(v) for k, v in self.outcomes.items()},
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "counts": self.counts,
        }


class OutDir:
    """A host directory mounted read-write into the sandbox for JUnit XML and surface files."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="studio-out-")
        self.path = Path(self._tmp.name)
        self.path.chmod(0o777)

    def cleanup(self) -> None:
        self._tmp.cleanup()


def mounts(out: OutDir) -> list[Mount]:
    """Mounts every test sandbox needs: the plugin (read-only) and the output dir."""
    return [
        Mount(SUPPORT_MOUNT, str(SUPPORT_DIR), type="bind", read_only=True),
        Mount(OUT_MOUNT, str(out.path), type="bind", read_only=False),
    ]


def build_command(test_cmd: str, *, junit: str, select: str | None = None, surface_out: str | None = None,
                  support: str = SUPPORT_MOUNT, current_out: str | None = None, calls_out: str | None = None) -> str:
    """The one pytest command line of every studio run and of the exported verifier (which fills in
    its own `support` directory for the plugin and a private `junit` path). A subset of tests is a
    `select` file of node ids the plugin keeps, never ids on the command line."""
    env = [
        "PYTHONDONTWRITEBYTECODE=1",
        f'PYTHONPATH={support}"${{PYTHONPATH:+:$PYTHONPATH}}"',
    ]
    if select:
        env.append(f"STUDIO_SELECT_FILE={select}")
    if surface_out:
        env.append(f"STUDIO_SURFACE_OUT={surface_out}")
    if current_out:
        env.append(f"STUDIO_CURRENT_OUT={current_out}")
    if calls_out:
        env.append(f"STUDIO_CALLS_OUT={calls_out}")
    args = ["-p", "studio_pytest_plugin", "-p", "no:cacheprovider", f"--junitxml={junit}",
            "-o", "junit_family=xunit1", "-q", "--color=no"]
    return f"{' '.join(env)} {test_cmd} {' '.join(args)}"


def run_tests(
    sandbox: Sandbox,
    out: OutDir,
    *,
    test_cmd: str = DEFAULT_TEST_CMD,
    test_ids: list[str] | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    surface: bool = False,
    calls: bool = False,
) -> TestRun:
    """Run the suite (or only `test_ids`, in that order) once; `env` carries the episode's ENV changes."""
    name = uuid.uuid4().hex[:12]
    junit_host = out.path / f"{name}.xml"
    surface_host = out.path / f"{name}.surface.json"
    select_host = out.path / f"{name}.ids"
    if test_ids is not None:
        select_host.write_text("".join(f"{t}\n" for t in test_ids))
    command = build_command(
        test_cmd,
        junit=f"{OUT_MOUNT}/{name}.xml",
        select=f"{OUT_MOUNT}/{name}.ids" if test_ids is not None else None,
        surface_out=f"{OUT_MOUNT}/{name}.surface.json" if surface else None,
        current_out=f"{OUT_MOUNT}/{name}.current",
        calls_out=f"{OUT_MOUNT}/{name}.calls.json" if calls else None,
    )
    result: ExecResult = sandbox.exec(command, timeout=timeout, env=env, max_output=200_000)
    run = TestRun(exit_code=result.exit_code, seconds=result.seconds, output=result.output)
    current_host = out.path / f"{name}.current"
    running = _running(current_host.read_text(errors="replace") if current_host.exists() else "")
    current_host.unlink(missing_ok=True)
    if junit_host.exists():
        run.outcomes = parse_junit(junit_host.read_bytes())
        junit_host.unlink()
    if not run.outcomes:
        run.error = _no_results_reason(result, running)
    missing = [tid for tid in test_ids or [] if tid not in run.outcomes]
    if missing:
        # A requested test with no result did not run: a collection error elsewhere in the
        # file or session stopped it. It counts as an error, with what pytest reported.
        reason = run.error or _collection_errors(run.outcomes) or _no_results_reason(result, running)
        for tid in missing:
            run.outcomes[tid] = TestOutcome(tid, ERROR, 0.0, reason)
    run.surface = _take_json(surface_host)
    run.calls = _take_json(out.path / f"{name}.calls.json")
    select_host.unlink(missing_ok=True)
    return run


def _take_json(path: Path) -> dict | None:
    """What the plugin wrote there (None when it wrote nothing readable); the file goes."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None
    finally:
        path.unlink()


def _collection_errors(outcomes: dict[str, TestOutcome]) -> str:
    """JUnit reports a collection error as a case named after the module, without '::'."""
    errors = [o.message for tid, o in outcomes.items() if o.outcome == ERROR and "::" not in tid]
    return "\n".join(errors)[:MESSAGE_LIMIT]


def _running(kept: str) -> str:
    """The plugin's "<start time> <node id>" as "<node id> (for N s)"."""
    started, _, nodeid = kept.strip().partition(" ")
    try:
        return f"{nodeid} (for {max(0.0, time.time() - float(started)):.0f} s)" if nodeid else ""
    except ValueError:
        return ""


def _no_results_reason(result: ExecResult, running: str = "") -> str:
    """Why a run wrote no JUnit; a killed run names the test it was in (the plugin's last id)."""
    during = f" while running {running}" if running else ""
    if result.timed_out:
        return f"the test run was killed after its timeout ({result.seconds:.0f} s){during}"
    if result.exit_code in (137, -9) and running:
        return f"the test run was killed (exit {result.exit_code}: out of memory?){during}"
    tail = result.output.strip().splitlines()[-15:]
    joined = "\n".join(tail)[-MESSAGE_LIMIT:]
    return f"pytest wrote no results (exit {result.exit_code}): {joined}"


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A long message's head and tail: a traceback names its exception last, and the set-up loop's
    rules read that line (a missing module under a deep import chain, a `SystemExit` in collection)."""
    if len(text) <= limit:
        return text
    head, cut = limit // 4, "\n[...]\n"
    return text[:head] + cut + text[len(text) - (limit - head - len(cut)):]


def parse_junit(data: bytes) -> dict[str, TestOutcome]:
    """Parse pytest JUnit XML; ids come from the plugin's `nodeid` property when present."""
    root = ET.fromstring(data)
    outcomes: dict[str, TestOutcome] = {}
    for case in root.iter("testcase"):
        tid = _nodeid(case)
        outcome, message = PASSED, ""
        for tag, kind in (("failure", FAILED), ("error", ERROR), ("skipped", SKIPPED)):
            node = case.find(tag)
            if node is not None:
                outcome = kind
                text = (node.get("message") or "") + "\n" + (node.text or "")
                message = clip(text.strip())
                break
        previous = outcomes.get(tid)
        if previous is not None and previous.outcome in (FAILED, ERROR):
            continue  # a teardown error after a pass is reported as a second case: keep the worst
        outcomes[tid] = TestOutcome(tid, outcome, float(case.get("time") or 0.0), message)
    return outcomes


def _nodeid(case: ET.Element) -> str:
    for prop in case.iter("property"):
        if prop.get("name") == "nodeid" and prop.get("value"):
            return prop.get("value")
    classname, name = case.get("classname") or "", case.get("name") or ""
    if not classname:
        return name
    parts = classname.split(".")
    # Without the plugin: "tests.test_x.TestA" -> "tests/test_x.py::TestA" (best effort).
    for i in range(len(parts), 0, -1):
        if parts[i - 1].startswith("test") or parts[i - 1].endswith("_test"):
            path = "/".join(parts[:i]) + ".py"
            return "::".join([path, *parts[i:], name])
    return f"{classname}::{name}"
