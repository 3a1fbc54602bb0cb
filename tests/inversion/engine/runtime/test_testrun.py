"""JUnit parsing and real pytest runs in a sandbox, with exact node ids and a surface."""

import re
import textwrap

import pytest

from inversion.engine.runtime import testrun
from inversion.engine.runtime.sandbox import Sandbox
from tests.support.images import ensure_pytest_image

JUNIT = b"""<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_a.TestK" name="test_x[1-2]" time="0.5"><properties>
<property name="nodeid" value="tests/test_a.py::TestK::test_x[1-2]"/></properties></testcase>
<testcase classname="tests.test_a" name="test_fail" time="0.1"><failure message="assert 1 == 2">long text</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" time="0"><skipped message="nope"/></testcase>
<testcase classname="tests.test_a" name="test_err" time="0"><error message="boom"/></testcase>
</testsuite></testsuites>"""


def test_parse_junit_prefers_node_id_property():
    outcomes = testrun.parse_junit(JUNIT)
    assert outcomes["tests/test_a.py::TestK::test_x[1-2]"].outcome == "passed"
    assert outcomes["tests/test_a.py::test_fail"].outcome == "failed"
    assert "assert 1 == 2" in outcomes["tests/test_a.py::test_fail"].message
    assert outcomes["tests/test_a.py::test_skip"].outcome == "skipped"
    assert outcomes["tests/test_a.py::test_err"].outcome == "error"


SUITE = {
    "tests/test_mod.py": """
        import json, sqlite3, subprocess, pytest
        class TestThing:
            @pytest.mark.parametrize("n", [1, 2])
            def test_param(self, n):
                assert n in (1, 2)
        def test_fails():
            assert json.dumps({}) == "[]"
        def test_calls_git():
            subprocess.run(["git", "--version"], check=True, capture_output=True)
        def test_sqlite():
            assert sqlite3.connect(":memory:").execute("select 1").fetchone() == (1,)
    """,
}


@pytest.fixture
def suite_box(docker_client, base_image):
    image = ensure_pytest_image(docker_client, base_image)
    out = testrun.OutDir()
    box = Sandbox(docker_client, image, kind="test", instance="pytest", mounts=testrun.mounts(out))
    try:
        box.start()
        for path, body in SUITE.items():
            box.put_file(f"/testbed/{path}", textwrap.dedent(body).encode())
        yield box, out
    finally:
        box.remove()
        out.cleanup()


@pytest.mark.docker
def test_real_run_gives_exact_ids_and_surface(suite_box):
    box, out = suite_box
    run = testrun.run_tests(box, out, surface=True)
    assert run.outcomes["tests/test_mod.py::TestThing::test_param[1]"].outcome == "passed"
    assert run.outcomes["tests/test_mod.py::test_fails"].outcome == "failed"
    assert run.counts == {"passed": 4, "failed": 1, "error": 0, "skipped": 0}
    assert run.surface is not None
    assert any("git" in exe for exe in run.surface["executables"])
    per_file = run.surface["per_file"]["tests/test_mod.py"]
    assert {"sqlite3", "_sqlite3"} <= set(per_file["modules"])
    assert any("libsqlite3" in lib for lib in run.surface["shared_libs"])
    assert box.diff() == sorted(box.diff())  # nothing else to assert: outputs went to the mount
    assert not any(path.startswith("/testbed/.pytest_cache") for path, _ in box.diff())


@pytest.mark.docker
def test_subset_and_broken_interpreter(suite_box):
    box, out = suite_box
    run = testrun.run_tests(box, out, test_ids=["tests/test_mod.py::test_sqlite"])
    assert list(run.outcomes) == ["tests/test_mod.py::test_sqlite"]
    box.exec("rm /opt/venv/bin/python")
    broken = testrun.run_tests(box, out, test_ids=["tests/test_mod.py::test_sqlite"])
    assert broken.outcomes["tests/test_mod.py::test_sqlite"].outcome == "error"
    assert "pytest wrote no results" in broken.error


@pytest.mark.docker
def test_requested_tests_stopped_by_a_collection_error_count_as_errors(suite_box):
    box, out = suite_box
    box.put_file("/testbed/tests/test_broken.py", b"import no_such_module_here\n\ndef test_x():\n    pass\n")
    run = testrun.run_tests(box, out, test_ids=["tests/test_mod.py::test_sqlite", "tests/test_broken.py::test_x"])
    assert run.outcomes["tests/test_broken.py::test_x"].outcome == "error"
    assert "no_such_module_here" in run.outcomes["tests/test_broken.py::test_x"].message
    assert run.outcomes["tests/test_mod.py::test_sqlite"].outcome in ("passed", "error")


@pytest.mark.docker
def test_a_run_killed_in_a_test_names_that_test(suite_box):
    box, out = suite_box
    box.put_file("/testbed/tests/test_hang.py", b"import time\n\ndef test_waits_forever():\n    time.sleep(600)\n")
    run = testrun.run_tests(box, out, test_ids=["tests/test_mod.py::test_sqlite", "tests/test_hang.py::test_waits_forever"],
                            timeout=8)
    assert run.error.startswith("the test run was killed after its timeout (")
    assert re.search(r" s\) while running tests/test_hang.py::test_waits_forever \(for [5-9] s\)$", run.error), run.error
    assert not list(out.path.glob("*.current"))  # nothing left in the output mount


def test_a_module_that_exits_when_imported_is_named_from_the_end_of_the_report(tmp_path):
    """A real pytest report of a test module calling unittest.main() at import (as unseen ply 3.11's
    do): an internal error whose exception is the traceback's last line. The message keeps its head
    and tail (until stop 37 only the first 4000 characters, where "internal error" was all the set-up
    loop could say) and the failure reason names the module."""
    import subprocess
    import sys

    from inversion.engine.gold import baseline

    (tmp_path / "testmain.py").write_text(textwrap.dedent("""
        import unittest

        class TestMain(unittest.TestCase):
            def test_a(self):
                pass

        unittest.main()
    """))
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                    "-o", "python_files=testmain.py", f"--junitxml={junit}", "testmain.py"], cwd=tmp_path,
                   capture_output=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    outcomes = testrun.parse_junit(junit.read_bytes())
    message = outcomes["pytest::internal"].message
    assert len(message) <= testrun.MESSAGE_LIMIT and message.rstrip().endswith("SystemExit: 2")
    tests = {t: {"outcome": o.outcome, "message": o.message} for t, o in outcomes.items()}
    reason = baseline.failure_reason({"counts": {"total": 1, "error": 1}, "stable_passing": [], "tests": tests}, 1)
    assert reason.startswith("0 of 1 tests pass: ") and f"{tmp_path}/testmain.py exits when imported" in reason, reason
