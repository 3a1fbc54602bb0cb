"""Config-file faults: pytest configuration and conftest files that break collection."""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

TESTBED = "/testbed"
PLUGIN_LINE = "required_plugins = pytest-randomly>=3.4"
CONFTEST_LINE = "import pytest_env_defaults"


class PytestRequiredPlugin(base.FaultFamily):
    name = "pytest_required_plugin"
    breaks_all = True
    category = "config"
    description = "pytest.ini requires a plugin that is not installed, so no test is collected."
    keywords = ("config", "configuration", "pytest.ini", "setup.cfg", "tox.ini", "ini", "pytest")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(base.test_files(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        ini = f"{TESTBED}/pytest.ini"
        cmd = (f"if [ -f {ini} ]; then sed -i 's/^\\[pytest\\]$/[pytest]\\n{PLUGIN_LINE}/' {ini}; "
               f"else printf '[pytest]\\n{PLUGIN_LINE}\\n' > {ini}; fi")
        return self.make(
            "pytest.ini",
            f"{ini} requires pytest-randomly, which is not installed",
            [RunCommand(cmd)],
            [f"sed -i '/^{PLUGIN_LINE}$/d' {ini}",
             f'if [ "$(tr -d "[:space:]" < {ini})" = "[pytest]" ]; then rm -f {ini}; fi'],
            explore=f"ls -la {TESTBED}",
        )


class ConftestImportError(base.FaultFamily):
    name = "conftest_import_error"
    category = "config"
    description = "A conftest.py next to some tests imports a plugin module that does not exist."
    keywords = ("config", "conftest", "pytest", "plugin", "collection")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self._dirs(surface))

    def _dirs(self, surface: dict[str, Any]) -> list[str]:
        dirs = {os.path.dirname(f) for f in base.test_files(surface) if f.endswith(".py")}
        # Deepest first: a conftest there breaks the fewest files.
        return sorted(dirs, key=lambda d: (-d.count("/"), d))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        dirs = self._dirs(ctx.surface)
        rel = dirs[0] if len(dirs) == 1 or rng.random() < 0.5 else rng.choice(dirs)
        path = os.path.join(TESTBED, rel, "conftest.py")
        q = shlex.quote(path)
        cmd = f"{{ echo {shlex.quote(CONFTEST_LINE)}; cat {q} 2>/dev/null || true; }} > {q}.new && mv {q}.new {q}"
        return self.make(
            os.path.join(rel, "conftest.py"),
            f"{path} imports pytest_env_defaults, which does not exist",
            [RunCommand(cmd)],
            [f"sed -i '/^{CONFTEST_LINE}$/d' {q}", f"[ -s {q} ] || rm -f {q}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )


FAMILIES = [PytestRequiredPlugin, ConftestImportError]
