"""The project families aim only at the project's own code: never a test file, a conftest, packaging
or a module loaded from outside /testbed; their plans carry the chooser script, not a fixed name."""

from __future__ import annotations

import random

from inversion.engine.episode.faults import PlanContext, family
from inversion.engine.episode.faults.project import project_sources

SURFACE = {
    "python": {"executable": "/opt/venv/bin/python", "version": "3.11.2",
               "site_packages": ["/opt/venv/lib/python3.11/site-packages"]},
    "modules": {"project": [
        {"name": "pkg", "file": "/testbed/pkg/__init__.py"},
        {"name": "pkg.core", "file": "/testbed/pkg/core.py"},
        {"name": "pkg.tests.test_core", "file": "/testbed/pkg/tests/test_core.py"},
        {"name": "conftest", "file": "/testbed/conftest.py"},
        {"name": "setup", "file": "/testbed/setup.py"},
        {"name": "pkg._version", "file": "/testbed/pkg/_version.py"},
        {"name": "pkg.native", "file": "/testbed/pkg/native.cpython-311-x86_64-linux-gnu.so"},
        {"name": "elsewhere", "file": "/opt/elsewhere.py"},
    ]},
    "test_files": ["pkg/tests/test_core.py", "tests/test_other.py"],
}


def test_only_the_projects_own_modules_are_targets():
    assert project_sources(SURFACE) == [("pkg", "/testbed/pkg/__init__.py"), ("pkg.core", "/testbed/pkg/core.py")]
    assert not family("project_stale_bytecode").applicable({**SURFACE, "modules": {"project": []}}, {})


def test_plans_send_the_chooser_and_repair_offline():
    ctx = PlanContext(SURFACE, {})
    stale = family("project_stale_bytecode").plan(ctx, random.Random(1))
    assert stale.target == "pkg" and len(stale.actions) == 1
    command = stale.actions[0].command
    assert command.startswith("/opt/venv/bin/python -c ") and " stale " in command
    assert "pkg/tests/test_core.py,tests/test_other.py" in command and "_PostImport" not in command
    assert "compileall -q -f" in stale.repair
    wrap = family("instrumentation_wrapper_drops_result").plan(ctx, random.Random(1))
    assert "_PostImport" in wrap.actions[0].command and " wrap " in wrap.actions[0].command
    assert "rm -f /opt/venv/lib/python3.11/site-packages/apm-autowrap.pth" in wrap.repair
    deep = family("instrumentation_wrapper_drops_result").deep_plan(ctx, random.Random(1))
    assert len(deep.actions) == 2 and deep.actions[1].command.startswith("mv ")
    assert "apm-autowrap.pth.off" in deep.actions[0].command
    steps = family("project_stale_bytecode").deep_plan(ctx, random.Random(1)).actions
    assert [a.command.split(" stale ", 1)[1].split()[2] for a in steps] == ["0", "1"]  # the 1st, then the 2nd
    assert steps[0].command.split()[-2:] == steps[1].command.split()[-2:]  # the same seeded order
    opt = family("optional_accelerator_half_installed").plan(ctx, random.Random(1))
    assert " optional " in opt.actions[0].command and "is not available in this build" in opt.repair
