"""A compatibility shim loaded at start-up that reroutes one function of an installed or stdlib module.

- `compat_shim_reroutes_call`: a site-wide "backports" module, imported by a `.pth` in site-packages,
  installs a post-import hook that replaces one function some tests call (from the call map) with a
  router to the accelerated implementation a newer release of its module ships; this release has none,
  so every call raises AttributeError naming a `_speedups_*` attribute of that module. Source, bytecode
  and the module's files are the gold's: the traceback's last frame is the shim's, which no import in
  the project names. Unlike the instrumentation wrapper (a project function, its result dropped
  silently) it aims at a dependency's or the standard library's function and fails loudly; unlike a
  blocked import, the module imports and all but one function work. Repair: remove the `.pth` and the
  module (and its cached bytecode).
"""

from __future__ import annotations

import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base, calls

# What such modules are called where they are found: a name per plan (a leak check catches each).
NAMES = ("compat_backports", "site_speedups", "fastpath_compat", "backports_accel")


def shim_command(python: str, hook: str, pth: str, rows: list[dict[str, Any]]) -> str:
    """`function_edit.py shim HOOK PTH SRC=QUALNAME...` with the shim's template sent ahead. The template
    (scripts/compat_shim.py) is written as it reads, so it says nothing of the studio; its post-import
    finder is apm_hook.py's by copy, as two products installed in site-packages would each carry one."""
    template = (base.SCRIPTS / "compat_shim.py").read_text()
    return calls.edit_command(python, f"shim {shlex.quote(hook)} {shlex.quote(pth)}", rows,
                              ahead=f"SHIM_TEMPLATE = {template!r}\n")


class CompatShimReroutesCall(calls.CallMapFamily):
    name = "compat_shim_reroutes_call"
    category = "compat_shim"
    description = ("A site-wide backports module that a .pth imports at start-up reroutes one function some "
                   "tests call to an accelerated implementation its module does not have in this release.")
    keywords = ("shim", "backport", "compat", "monkeypatch", ".pth", "startup", "speedups", "attributeerror")
    layering = "beside"

    def _rows(self, surface: dict[str, Any]) -> list[dict[str, Any]]:
        # any function some tests call (a router fails whatever the function gives back); the shim
        # goes into site-packages, so none where there is none
        if not base.site_packages(surface):
            return []
        return calls.function_targets(surface, "site", gives=False) or calls.function_targets(surface, "stdlib", gives=False)

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        chosen = calls.pick_modules(rng, self._rows(ctx.surface), calls.suite_size(ctx.surface), count)
        python, sp = base.python_executable(ctx.surface), base.site_packages(ctx.surface)
        name = rng.choice(NAMES)
        hook, pth = f"{sp}/{name}.py", f"{sp}/{name.replace('_', '-')}.pth"
        return self.make(
            chosen[0][0]["module"],
            f"{pth} imports {hook}, which reroutes one function some tests call in "
            f"{' and in '.join(mine[0]['module'] for mine in chosen)} to an implementation this release lacks",
            [RunCommand(shim_command(python, hook, pth, mine)) for mine in chosen],
            [f"rm -f {shlex.quote(pth)} {shlex.quote(hook)}", f"rm -rf {shlex.quote(sp)}/__pycache__/{name}.*"],
            explore=f"ls {shlex.quote(sp)}",
            objects=calls.candidate_modules(chosen),
        )


FAMILIES = [CompatShimReroutesCall]
