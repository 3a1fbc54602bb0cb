"""Interpreter start-up hooks: a `.pth` line or a sitecustomize block that disables a module."""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

MARKER = "# --- site import policy ---"


def blockable(surface: dict[str, Any]) -> list[str]:
    names = (set(base.site_modules(surface)) | base.stdlib_modules(surface)) & base.used_modules(surface)
    return base.rank_targets(sorted(names), base.file_modules(surface), base.called_modules(surface))


def policy_block(name: str) -> str:
    """Python code (marked, ends with a newline) whose import hook refuses `name` and its submodules."""
    return (
        f"{MARKER}\nimport sys as _sys\n\n\nclass _ImportPolicy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {name!r} or name.startswith({name + '.'!r}):\n"
        "            raise ImportError(f'{name} is disabled by the site import policy')\n\n\n"
        "_sys.meta_path.insert(0, _ImportPolicy())\n"
    )


def sitecustomize_path(surface: dict[str, Any]) -> str:
    prefix = base.python_info(surface).get("base_prefix") or "/usr"
    return f"{prefix}/lib/python{base.py_version(surface)}/sitecustomize.py"


def _compile(surface: dict[str, Any], real: str) -> RunCommand:
    python = base.python_executable(surface)
    return RunCommand(f"{python} -m py_compile {real}")


def _uncompile(surface: dict[str, Any]) -> str:
    """Repair line: drop sitecustomize's cached bytecode (beside the link and the real file), which
    would otherwise hold the blocking code after the source is repaired."""
    path = sitecustomize_path(surface)
    here = shlex.quote(os.path.dirname(path) + "/__pycache__")
    return f'rm -f {here}/sitecustomize.*.pyc "$(dirname "$(readlink -f {shlex.quote(path)})")"/__pycache__/sitecustomize.*.pyc'


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


    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """Three steps: the `.pth` line, a sitecustomize block that blocks the module again (removing
        the `.pth` alone changes the error, not the outcome) and the byte-compiled sitecustomize."""
        plan = self.plan(ctx, rng)
        path = sitecustomize_path(ctx.surface)
        real = f'"$(readlink -f {shlex.quote(path)})"'
        return self.make(
            plan.target,
            f"{plan.summary}; sitecustomize ({path}) refuses to import it as well",
            [plan.actions[0], RunCommand(f"printf %s {shlex.quote(policy_block(plan.target))} >> {real}"),
             _compile(ctx.surface, real)],
            [*plan.repair_lines, f"sed -i '/^{MARKER}$/,$d' {real}",
             _uncompile(ctx.surface)],
            explore=plan.explore,
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
        path = sitecustomize_path(ctx.surface)
        block = policy_block(name)  # appended to a file that ends with a newline; the repair deletes exactly this
        real = f'"$(readlink -f {shlex.quote(path)})"'
        return self.make(
            name,
            f"sitecustomize ({path}) refuses to import {name}",
            [RunCommand(f"printf %s {shlex.quote(block)} >> {real}")],
            [f"sed -i '/^{MARKER}$/,$d' {real}"],
            explore=f"ls -la {shlex.quote(path)}",
        )


    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Four steps: the sitecustomize block, its bytecode, and the same policy again as a module in
        site-packages that a `.pth` imports (repairing sitecustomize alone still blocks the module)."""
        sp = base.site_packages(ctx.surface)
        if not sp:
            return None
        plan = self.plan(ctx, rng)
        real = f'"$(readlink -f {shlex.quote(sitecustomize_path(ctx.surface))})"'
        module, pth = f"{sp}/_site_import_policy.py", f"{sp}/zz-site-import-policy.pth"
        return self.make(
            plan.target,
            f"{plan.summary}; {pth} imports {module}, which refuses it as well",
            [plan.actions[0], _compile(ctx.surface, real),
             RunCommand(f"printf %s {shlex.quote(policy_block(plan.target))} > {shlex.quote(module)}"),
             RunCommand(f"echo 'import _site_import_policy' > {shlex.quote(pth)}")],
            [f"rm -f {shlex.quote(pth)} {shlex.quote(module)}", *plan.repair_lines,
             _uncompile(ctx.surface)],
            explore=plan.explore,
        )


FAMILIES = [PthModuleBlock, SitecustomizeBlocker]
