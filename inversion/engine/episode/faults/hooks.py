"""Interpreter start-up hooks: a `.pth` line or a sitecustomize block that disables a module."""

from __future__ import annotations

import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

MARKER = "# --- site import policy ---"


def blockable(surface: dict[str, Any]) -> list[str]:
    names = (set(base.site_modules(surface)) | base.stdlib_modules(surface)) & base.used_modules(surface)
    return base.rank_targets(sorted(names), base.file_modules(surface))


class PthModuleBlock(base.FaultFamily):
    name = "pth_module_block"
    layering = "beside"
    category = "startup_hooks"
    description = "A .pth file in site-packages that marks a module as unimportable at start-up."
    keywords = (".pth", "pth", "startup", "site", "sitecustomize", "hook", "import")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(base.site_packages(surface) and blockable(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = base.pick(rng, blockable(ctx.surface))
        pth = f"{base.site_packages(ctx.surface)}/zz-compat.pth"
        line = f"import sys; sys.modules.setdefault({name!r}, None)"
        return self.make(
            name,
            f"{pth} sets sys.modules[{name!r}] = None at start-up",
            [RunCommand(f"echo {shlex.quote(line)} > {shlex.quote(pth)}")],
            [f"rm -f {shlex.quote(pth)}"],
            explore=f"ls {shlex.quote(base.site_packages(ctx.surface))}",
        )


class SitecustomizeBlocker(base.FaultFamily):
    name = "sitecustomize_blocker"
    layering = "beside"
    category = "startup_hooks"
    description = "A block appended to the interpreter's sitecustomize that refuses one import."
    keywords = ("sitecustomize", "startup", "site", "hook", "import", "meta_path")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(blockable(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = base.pick(rng, blockable(ctx.surface))
        prefix = base.python_info(ctx.surface).get("base_prefix") or "/usr"
        path = f"{prefix}/lib/python{base.py_version(ctx.surface)}/sitecustomize.py"
        block = (  # appended to a file that ends with a newline; the repair deletes exactly this
            f"{MARKER}\nimport sys as _sys\n\n\nclass _ImportPolicy:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name == {name!r} or name.startswith({name + '.'!r}):\n"
            "            raise ImportError(f'{name} is disabled by the site import policy')\n\n\n"
            "_sys.meta_path.insert(0, _ImportPolicy())\n"
        )
        real = f'"$(readlink -f {shlex.quote(path)})"'
        return self.make(
            name,
            f"sitecustomize ({path}) refuses to import {name}",
            [RunCommand(f"printf %s {shlex.quote(block)} >> {real}")],
            [f"sed -i '/^{MARKER}$/,$d' {real}"],
            explore=f"ls -la {shlex.quote(path)}",
        )


FAMILIES = [PthModuleBlock, SitecustomizeBlocker]
