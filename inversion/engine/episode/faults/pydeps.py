"""Python dependency faults: misplaced or stale packages, shadowed modules, poisoned bytecode.

None of them needs PyPI to repair: the good files stay in the image, something earlier on
`sys.path` (or a stale cache) hides them, or they were moved where the interpreter does not look.
"""

from __future__ import annotations

import os
import random
import shlex
import sys
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base
from inversion.engine.episode.faults.calls import (
    function_targets,
    function_turn,
    module_count,
    stale_function_plan,
)

TESTBED = "/testbed"
UNSHADOWABLE = set(sys.builtin_module_names) | {"this", "antigravity", "idlelib", "tkinter", "turtle"}


def placeholder_pyc(python: str, src: str, pyc: str) -> str:
    """A command writing, at `pyc`, bytecode of a placeholder module stamped with `src`'s mtime and
    size (a valid cache entry for it, or a sourceless module where `pyc` is a legacy location)."""
    script = (
        "import importlib._bootstrap_external as ext, os\n"
        f"src, pyc = {src!r}, {pyc!r}\n"
        "st = os.stat(src) if os.path.exists(src) else os.stat(os.path.dirname(pyc))\n"
        "os.makedirs(os.path.dirname(pyc), exist_ok=True)\n"
        "code = compile('\"\"\"placeholder\"\"\"\\n', src, 'exec')\n"
        "open(pyc, 'wb').write(ext._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))\n"
    )
    return f"{python} -c {shlex.quote(script)}"


def cache_path(surface: dict[str, Any], src: str) -> str:
    """Where the gold's interpreter caches the bytecode of `src` (`__pycache__/NAME.cpython-3X.pyc`)."""
    tag = base.py_version(surface).replace(".", "")
    return f"{os.path.dirname(src)}/__pycache__/{os.path.basename(src)[:-3]}.cpython-{tag}.pyc"


def site_ranked(surface: dict[str, Any], *, need_py: bool = False) -> list[str]:
    mods = base.site_modules(surface)
    if need_py:
        mods = {n: m for n, m in mods.items() if m["file"].endswith(".py")}
    return base.rank_targets(sorted(mods), base.file_modules(surface), base.called_modules(surface))


class PackageMisplaced(base.FaultFamily):
    name = "package_misplaced"
    category = "python_dependency"
    description = "Move an imported site package into another Python version's site-packages."
    keywords = ("missing dependency", "dependency", "package", "site-packages", "import", "pip")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(base.site_packages(surface) and site_ranked(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        sp = base.site_packages(ctx.surface)
        name = base.pick(rng, site_ranked(ctx.surface))
        root = base.package_root(base.site_modules(ctx.surface)[name])
        ver = base.py_version(ctx.surface)
        wrong = sp.replace(f"python{ver}", "python3.9") if f"python{ver}" in sp else sp + "-legacy"
        moved = f"{wrong}/{os.path.basename(root)}"
        return self.make(
            name,
            f"{name} moved from {sp} to {wrong}",
            [RunCommand(f"mkdir -p {shlex.quote(wrong)} && mv {shlex.quote(root)} {shlex.quote(moved)}")],
            [f"mv {shlex.quote(moved)} {shlex.quote(root)}"],
            explore=f"ls -la {shlex.quote(sp)}",
        )


    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """Three steps: the legacy dir made, the package moved there, and a sourceless placeholder
        `.pyc` left where it was (putting the package back alone leaves that one first)."""
        plan = self.plan(ctx, rng)
        sp = base.site_packages(ctx.surface)
        root = base.package_root(base.site_modules(ctx.surface)[plan.target])
        ver = base.py_version(ctx.surface)
        wrong = sp.replace(f"python{ver}", "python3.9") if f"python{ver}" in sp else sp + "-legacy"
        moved = f"{wrong}/{os.path.basename(root)}"
        pyc = f"{sp}/{plan.target}.pyc"
        python = base.python_executable(ctx.surface)
        return self.make(
            plan.target,
            f"{plan.target} moved from {sp} to {wrong}; a placeholder {plan.target}.pyc is left in its place",
            [RunCommand(f"mkdir -p {shlex.quote(wrong)}"),
             RunCommand(f"mv {shlex.quote(root)} {shlex.quote(moved)}"),
             RunCommand(placeholder_pyc(python, root, pyc))],
            [f"rm -f {shlex.quote(pyc)}", f"mv {shlex.quote(moved)} {shlex.quote(root)}",
             f"rmdir --ignore-fail-on-non-empty {shlex.quote(wrong)}"],
            explore=plan.explore,
        )


class StaleVendoredCopy(base.FaultFamily):
    name = "stale_vendored_copy"
    layering = "beside"
    category = "python_dependency"
    description = "A truncated old copy of a package, put first on sys.path by a .pth file."
    keywords = ("wrong version", "version", "dependency", "package", "vendored", ".pth", "sys.path")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(base.site_packages(surface) and site_ranked(surface, need_py=True))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self._laid(ctx, rng)[0]

    def _laid(self, ctx: base.PlanContext, rng: random.Random) -> tuple[base.FaultPlan, str, str]:
        """The plain plan, and its two commands apart (the truncated copy, the `.pth` putting it
        first), which the plain plan runs as one step."""
        sp = base.site_packages(ctx.surface)
        name = base.pick(rng, site_ranked(ctx.surface, need_py=True))
        module = base.site_modules(ctx.surface)[name]
        root = base.package_root(module)
        vendor = vendor_dir(ctx.surface)
        copy_root = f"{vendor}/{os.path.basename(root)}"
        copy_file = copy_root + module["file"][len(root):]
        f = shlex.quote(copy_file)
        pth = f"{sp}/00-vendored.pth"
        copy = (f"mkdir -p {vendor} && cp -r {shlex.quote(root)} {shlex.quote(copy_root)} && "
                f"n=$(wc -l < {f}) && head -n $((n / 4)) {f} > {f}.tmp && mv {f}.tmp {f}")
        first = f"echo 'import sys; sys.path.insert(0, \"{vendor}\")' > {shlex.quote(pth)}"
        plan = self.make(
            name,
            f"an incomplete copy of {name} in {vendor} is put first on sys.path by {pth}",
            [RunCommand(f"{copy} && {first}")],
            [f"rm -f {shlex.quote(pth)}", f"rm -rf {shlex.quote(copy_root)}"],
            explore=f"ls {shlex.quote(sp)}",
        )
        return plan, copy, first

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """Three steps: the truncated copy, the `.pth` putting it first, and the vendoring tool's
        own path hook doing the same, a module a second `.pth` imports (removing the first `.pth`
        alone still loads the copy: a tool's leftovers rarely sit in one file)."""
        plan, copy, first = self._laid(ctx, rng)
        vendor, sp = vendor_dir(ctx.surface), base.site_packages(ctx.surface)
        hook, hook_pth = f"{sp}/vendored_paths.py", f"{sp}/zz-vendored-paths.pth"
        body = f"import sys\n\nif {vendor!r} not in sys.path:\n    sys.path.insert(0, {vendor!r})\n"
        return self.make(
            plan.target,
            plan.summary + f", and again by {hook} (imported by {hook_pth})",
            [RunCommand(copy), RunCommand(first),
             RunCommand(f"printf {shlex.quote(body)} > {shlex.quote(hook)} && "
                        f"echo 'import vendored_paths' > {shlex.quote(hook_pth)}")],
            [*plan.repair_lines, f"rm -f {shlex.quote(hook)} {shlex.quote(hook_pth)}",
             f"rm -f {shlex.quote(sp)}/__pycache__/vendored_paths.*.pyc"],
            explore=plan.explore,
        )


def vendor_dir(surface: dict[str, Any]) -> str:
    """Where the stale vendored copies go: a directory no `sys.path` of the gold lists."""
    return f"/usr/local/lib/python{base.py_version(surface)}/vendored"


class _TestbedShadow(base.FaultFamily):
    layering = "beside"
    category = "module_shadowing"
    keywords = ("shadow", "module", "import", "sys.path", "stdlib", "name clash")
    body = ""

    def candidates(self, surface: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self.candidates(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = base.pick(rng, self.candidates(ctx.surface))
        path = f"{TESTBED}/{name}.py"
        body = self.body.format(name=name)
        return self.make(
            name,
            f"{path} shadows the {name} module",
            [RunCommand(f"printf %s {shlex.quote(body)} > {path}")],
            [f"rm -f {path}"],
            explore=f"ls -la {TESTBED}",
        )


    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """Three steps: the script, its byte-compiled cache, and a sourceless copy of that bytecode
        beside it (deleting the script alone leaves the `.pyc` shadowing the module)."""
        plan = self.plan(ctx, rng)
        name, python = plan.target, base.python_executable(ctx.surface)
        path, legacy = f"{TESTBED}/{name}.py", f"{TESTBED}/{name}.pyc"
        cache = f"{TESTBED}/__pycache__/{name}.cpython-{base.py_version(ctx.surface).replace('.', '')}.pyc"
        return self.make(
            name,
            f"{path} shadows the {name} module, and so does its compiled copy {legacy}",
            [plan.actions[0],
             RunCommand(f"{python} -c {shlex.quote(f'import py_compile; py_compile.compile({path!r}, cfile={cache!r})')}"),
             RunCommand(f"cp {cache} {legacy}")],
            [f"rm -f {path} {legacy} {cache}"],
            explore=plan.explore,
        )


class StdlibShadow(_TestbedShadow):
    name = "stdlib_shadow_testbed"
    description = "A scratch script named like a stdlib module the tests import, in the project root."
    body = '"""Scratch notes for {name}."""\n\n\ndef main():\n    print("todo")\n'

    def candidates(self, surface: dict[str, Any]) -> list[str]:
        names = (base.stdlib_modules(surface) & base.used_modules(surface)) - UNSHADOWABLE
        return base.rank_targets(sorted(names), base.file_modules(surface), base.called_modules(surface))


class SiteModuleStub(_TestbedShadow):
    name = "site_module_stub"
    description = "An empty compatibility shim named like a third-party package, in the project root."
    body = '"""Compatibility shim for {name} (kept for old deployments)."""\n'

    def candidates(self, surface: dict[str, Any]) -> list[str]:
        return site_ranked(surface)


class StaleBytecode(base.FaultFamily):
    name = "stale_bytecode"
    category = "bytecode_cache"
    description = "A __pycache__ entry with a valid timestamp header but foreign code for a package."
    keywords = ("bytecode", "pyc", "__pycache__", "cache", "stale", "filesystem")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(site_ranked(surface, need_py=True))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """A placeholder module where some test files do not import the package; else (and half of
        the time) an older body of one function some tests call, from the call map, so a suite in
        one file still keeps passing tests."""
        ranked, functions = self._aim(ctx, rng)
        if functions:
            return stale_function_plan(self, ctx, rng, functions)
        return self._plan(ctx, base.pick(rng, ranked), [])

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """A partial downgrade: placeholder bytecode for the package and up to two of its submodules,
        one step each (None for a single-file module); where the plan aims at functions, an older
        body of one in each of up to three modules."""
        ranked, functions = self._aim(ctx, rng)
        if functions:
            count = min(3, module_count(functions))
            return stale_function_plan(self, ctx, rng, functions, count=count) if count >= 2 else None
        name = base.pick(rng, ranked)
        subs = sorted(m.get("file") or "" for m in (ctx.surface.get("modules") or {}).get("site", [])
                      if str(m.get("name") or "").startswith(name + ".") and str(m.get("file") or "").endswith(".py"))
        return self._plan(ctx, name, rng.sample(subs, min(2, len(subs)))) if subs else None

    @staticmethod
    def _aim(ctx: base.PlanContext, rng: random.Random) -> tuple[list[str], list[dict[str, Any]]]:
        """(the packages, best first; the call map's rows where this plan aims at one function, else [])."""
        ranked = site_ranked(ctx.surface, need_py=True)
        functions = function_targets(ctx.surface, "site")
        aims = function_turn(ctx, rng, functions, getattr(ranked, "preferred", 0))
        return ranked, functions if aims else []

    def _plan(self, ctx: base.PlanContext, name: str, subs: list[str]) -> base.FaultPlan:
        """Placeholder bytecode for package `name` and its submodule files `subs`, one step each."""
        srcs = [base.site_modules(ctx.surface)[name]["file"], *subs]
        python = base.python_executable(ctx.surface)
        pycs = [cache_path(ctx.surface, src) for src in srcs]
        return self.make(
            name,
            f"the cached bytecode of {srcs[0]} holds a placeholder module" if not subs else
            f"the cached bytecode of {len(srcs)} files of {name} holds placeholder modules",
            [RunCommand(placeholder_pyc(python, src, pyc)) for src, pyc in zip(srcs, pycs, strict=True)],
            [base.recompile(python, ' '.join(shlex.quote(src) for src in srcs))],
            explore=f"ls -la {shlex.quote(os.path.dirname(srcs[0]))}/__pycache__",
        )


FAMILIES = [PackageMisplaced, StaleVendoredCopy, StdlibShadow, SiteModuleStub, StaleBytecode]
