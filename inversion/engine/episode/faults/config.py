"""Config-file faults: pytest configuration and conftest files that break collection."""

from __future__ import annotations

import os
import random
import re
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

TESTBED = "/testbed"
PLUGIN_LINE = "required_plugins = pytest-randomly>=3.4"
CONFTEST_LINE = "import pytest_env_defaults"
PLUGINS_LINE = 'pytest_plugins = ["pytest_env_defaults"]'
LEFTOVER_DIST = "pytest_randomly-3.4.1.dist-info"


def _prepend(path: str, line: str) -> RunCommand:
    """Put `line` first in `path` (created if missing); `_unprepend` restores the file's bytes."""
    q = shlex.quote(path)
    return RunCommand(f"{{ echo {shlex.quote(line)}; cat {q} 2>/dev/null || true; }} > {q}.new && mv {q}.new {q}")


def _unprepend(path: str, *lines: str) -> list[str]:
    q = shlex.quote(path)
    patterns = ";".join(f"/^{re.escape(line)}$/d" for line in lines)
    return [f"sed -i {shlex.quote(patterns)} {q}", f"[ -s {q} ] || rm -f {q}"]


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

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Three steps: what a half-done `pip uninstall pytest-randomly` leaves (its dist-info, with
        the metadata and the pytest11 entry point, one step each, and no module), then the config
        line that requires the plugin. pytest fails loading the entry point; removing the dist-info
        alone reveals the missing required plugin, and removing the line alone changes nothing."""
        sp = base.site_packages(ctx.surface)
        if not sp:
            return None
        plan = self.plan(ctx, rng)
        dist = shlex.quote(f"{sp}/{LEFTOVER_DIST}")
        meta = "Metadata-Version: 2.1\\nName: pytest-randomly\\nVersion: 3.4.1\\n"
        return self.make(
            plan.target,
            f"{plan.summary}; {sp}/{LEFTOVER_DIST} is left over with a pytest11 entry point and no module",
            [RunCommand(f"mkdir -p {dist} && printf '{meta}' > {dist}/METADATA"),
             RunCommand(f"printf '[pytest11]\\nrandomly = pytest_randomly\\n' > {dist}/entry_points.txt"),
             *plan.actions],
            [*plan.repair_lines, f"rm -rf {dist}"],
            explore=plan.explore,
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
        return self.make(
            os.path.join(rel, "conftest.py"),
            f"{path} imports pytest_env_defaults, which does not exist",
            [_prepend(path, CONFTEST_LINE)],
            _unprepend(path, CONFTEST_LINE),
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """A helper plugin renamed and its users left behind: the conftest also lists it in
        `pytest_plugins` (fixing the import reveals that error), and a conftest in a second test
        directory, where there is one, imports it too (fixing the first reveals more failing tests).
        One step per line."""
        plan = self.plan(ctx, rng)
        rel = os.path.dirname(plan.target)
        path = os.path.join(TESTBED, plan.target)
        actions, repair = [_prepend(path, PLUGINS_LINE), *plan.actions], _unprepend(path, CONFTEST_LINE, PLUGINS_LINE)
        others = [d for d in self._dirs(ctx.surface) if d != rel and not d.startswith(rel + "/")]
        if others:
            other = os.path.join(TESTBED, rng.choice(others), "conftest.py")
            actions.append(_prepend(other, CONFTEST_LINE))
            repair += _unprepend(other, CONFTEST_LINE)
        where = f" and {other}" if others else ""
        return self.make(plan.target, f"{path}{where} import pytest_env_defaults, which does not exist; "
                         f"{path} also lists it in pytest_plugins", actions, repair, explore=plan.explore)


FAMILIES = [PytestRequiredPlugin, ConftestImportError]
