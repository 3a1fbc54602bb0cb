"""Standard-library faults: one stdlib module that some test files use (and the runner does not load
at start-up) is damaged on disk, so those files fail and the rest still pass.

Modelled on real incidents: an interrupted `dpkg` unpack that left a truncated C extension beside
the `.dpkg-new` it never renamed, an extension copied over from another Python build (another ABI
tag, another module's init function), a stale "override" directory put first on `sys.path` by a
`.pth` file, an editor that turned one indent into a tab, a package whose `__init__.py` a cleanup
moved aside. The gold bytes stay on disk (the unpacked file, a `.orig` copy, the untouched file
behind a shadow), as in the shared-library families, so every repair is an offline move or delete.
Only C extensions without a pure-Python fallback are aimed at (`_json`, `_decimal`, `_pickle`,
`_zoneinfo` ... fall back silently, and Debian builds `_csv`, `_struct`, `array` into the binary).
"""

from __future__ import annotations

import os
import random
import re
import shlex
from collections.abc import Callable
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base
from inversion.engine.episode.faults.calls import (
    candidate_modules,
    copy_command,
    function_targets,
    function_turn,
    module_count,
    one_module,
    shadowable,
    stale_function_plan,
)
from inversion.engine.episode.faults.pydeps import cache_path, placeholder_pyc
from inversion.engine.episode.faults.stdlib_targets import choose, extensions, py_files, stdlib_files

OVERRIDES = "site-overrides"


class TwoTargets(base.FaultFamily):
    """Multi-step variant: the same damage to one or two more stdlib modules other test files use (an
    interrupted unpack or a bulk edit rarely stops at one file), one step per target, one repair.
    Repairing one target reveals the next one's failures."""

    spread = 3  # targets of the multi-step variant at most, where the gold has that many apart

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        return self._spread(ctx, rng, self.plan)

    def _spread(self, ctx: base.PlanContext, rng: random.Random,
                one: Callable[[base.PlanContext, random.Random], base.FaultPlan]) -> base.FaultPlan | None:
        """Targets of distinct packages only: two modules of one package in one layer leave no other
        stdlib family a module of it (wcwidth, whose tests reach `email.parser` and
        `email.feedparser` alone: 13-14 of 20 valid with such pairs, 15 without, fewer compounds).
        `one` plans each (a family with two kinds of damage passes one kind, so the variant's steps
        do not vary with the seed)."""
        plans = [one(ctx, rng)]
        for _ in range(4 * self.spread):
            if len(plans) == self.spread:
                break
            more = one(ctx, rng)
            if base.top(more.target) not in {base.top(p.target) for p in plans}:
                plans.append(more)
        return base.stacked(self, *plans) if len(plans) > 1 else None


class _Extension(TwoTargets):
    category = "native_extension"
    keywords = ("c extension", "extension", "lib-dynload", "stdlib", "standard library", ".so", "import")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(extensions(surface))

    def target(self, ctx: base.PlanContext, rng: random.Random) -> tuple[str, str]:
        name = choose(rng, extensions(ctx.surface))
        return name, stdlib_files(ctx.surface)[name]


class ExtTruncatedUnpack(_Extension):
    name = "stdlib_ext_truncated"
    description = (
        "A stdlib C extension truncated in place, the full file left as .dpkg-new (a killed unpack)."
    )

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name, path = self.target(ctx, rng)
        f, new = shlex.quote(path), shlex.quote(path + ".dpkg-new")
        return self.make(
            name,
            f"{path} is truncated to 512 bytes; the intact file sits beside it as {os.path.basename(path)}.dpkg-new",
            [RunCommand(f"mv {f} {new} && head -c 512 {new} > {f}")],
            [f"mv -f {new} {f}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )


class ExtWrongInit(_Extension):
    name = "stdlib_ext_wrong_init"
    description = "A stdlib C extension overwritten by another extension's file (no matching PyInit_)."

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name, path = self.target(ctx, rng)
        donors = sorted(
            p
            for n, p in stdlib_files(ctx.surface).items()
            if n != name and p.endswith(".so") and os.path.dirname(p) == os.path.dirname(path)
        )
        donor = rng.choice(donors) if donors else path.replace(f"/{name}.", "/_json.", 1)
        f, orig = shlex.quote(path), shlex.quote(path + ".orig")
        return self.make(
            name,
            f"{path} is a copy of {os.path.basename(donor)} (the real one kept as .orig)",
            [RunCommand(f"mv {f} {orig} && cp {shlex.quote(donor)} {f}")],
            [f"mv -f {orig} {f}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )


class ExtAbiTag(_Extension):
    name = "stdlib_ext_abi_tag"
    category = "standard_library"
    description = "A stdlib C extension renamed to another interpreter's ABI tag, so import cannot find it."

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name, path = self.target(ctx, rng)
        major, minor = base.py_version(ctx.surface).split(".")
        other = f"cpython-{major}{int(minor) + 1}"
        renamed = re.sub(r"cpython-\d+", other, path) if "cpython-" in path else path + ".disabled"
        return self.make(
            name,
            f"{path} was renamed to {os.path.basename(renamed)}",
            [RunCommand(f"mv {shlex.quote(path)} {shlex.quote(renamed)}")],
            [f"mv -f {shlex.quote(renamed)} {shlex.quote(path)}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )


def _overrides(ctx: base.PlanContext) -> tuple[str, str]:
    """An override directory and the .pth that puts it first on sys.path."""
    ver = base.py_version(ctx.surface)
    sp = base.site_packages(ctx.surface) or f"/usr/local/lib/python{ver}/dist-packages"
    return f"/usr/local/lib/python{ver}/{OVERRIDES}", f"{sp}/00-{OVERRIDES}.pth"


def _pth_line(directory: str) -> str:
    return f'import sys; sys.path.insert(0, "{directory}")'


def _override_plan(
    fam: base.FaultFamily, target: str, damage: str, lay: str, directory: str, pth: str, objects: tuple[str, ...] = ()
) -> base.FaultPlan:
    """Lay a damaged copy in `directory` (the `lay` command), then a .pth that puts it first on
    sys.path; the repair removes both."""
    return fam.make(
        target,
        f"{pth} puts {directory} first on sys.path; its {damage}",
        [RunCommand(lay), RunCommand(f"echo {shlex.quote(_pth_line(directory))} > {shlex.quote(pth)}")],
        [f"rm -f {shlex.quote(pth)}", f"rm -rf {shlex.quote(directory)}"],
        explore=f"ls {shlex.quote(os.path.dirname(pth))}",
        objects=objects,
    )


class ExtOverrideShadow(_Extension):
    name = "stdlib_ext_override_shadow"
    category = "module_shadowing"
    description = "A .pth puts an override dir first on sys.path; it holds a stdlib C extension with a zeroed ELF header."
    keywords = ("shadow", ".pth", "sys.path", "c extension", "stdlib", "elf", "override")

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name, path = self.target(ctx, rng)
        directory, pth = _overrides(ctx)
        copy = f"{directory}/{os.path.basename(path)}"
        d, c = shlex.quote(directory), shlex.quote(copy)
        lay = f"mkdir -p {d} && cp {shlex.quote(path)} {c} && dd if=/dev/zero of={c} bs=64 count=1 conv=notrunc status=none"
        return _override_plan(self, name, f"{os.path.basename(path)} has a zeroed ELF header", lay, directory, pth)


class PyStaleOverride(TwoTargets):
    name = "stdlib_py_stale_override"
    category = "module_shadowing"
    description = ("A .pth puts an override dir first on sys.path; it holds a half-copied stdlib module, or a "
                   "copy from another release with one function some tests call stubbed out.")
    keywords = ("shadow", ".pth", "sys.path", "stdlib", "standard library", "override", "truncated")

    @staticmethod
    def singles(surface: dict[str, Any]) -> list[str]:
        """Top-level single-file modules: a submodule copy would not shadow (the real package wins)."""
        return [n for n in py_files(surface, init=False) if "." not in n]

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self.singles(surface) or shadowable(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """A half copy of a module some test files use; where none is (a suite in one file: every test
        imports it) or half of the time, a whole copy whose one function some tests call is a stub."""
        if function_turn(ctx, rng, shadowable(ctx.surface), self.singles(ctx.surface)):
            return self._copied(ctx, rng)
        return self._half(ctx, rng)

    def _half(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = choose(rng, self.singles(ctx.surface))
        path = stdlib_files(ctx.surface)[name]
        directory, pth = _overrides(ctx)
        copy = f"{directory}/{name}.py"
        src, c = shlex.quote(path), shlex.quote(copy)
        lay = f'mkdir -p {shlex.quote(os.path.dirname(copy))} && head -c "$(( $(stat -c %s {src}) / 2 ))" {src} > {c}'
        return _override_plan(self, name, f"copy of {name} stops halfway", lay, directory, pth)

    def _copied(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        directory, pth = _overrides(ctx)
        chosen = one_module(rng, ctx.surface, shadowable(ctx.surface))
        lay = copy_command(base.python_executable(ctx.surface), "shadowcopy", directory, chosen)
        return _override_plan(self, chosen[0]["module"], "copy of a module from another release stubs out one "
                              "function some tests call", lay, directory, pth, objects=candidate_modules([chosen]))

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Half copies of two targets where the gold has them; else two generations of overrides for
        one module: the half copy, and a legacy directory whose sourceless placeholder bytecode a
        second `.pth` puts before it (removing one `.pth` and its directory reveals the other). A step
        each. Where no half copy fits (a suite in one file), stubbed copies of two modules, or none: a
        placeholder of a whole module would fail every test there."""
        if not self.singles(ctx.surface):
            return self._spread(ctx, rng, self._copied) if module_count(shadowable(ctx.surface)) >= 2 else None
        two = self._spread(ctx, rng, self._half)
        if two is not None:
            return two
        first = self._half(ctx, rng)
        directory, pth = _overrides(ctx)
        legacy, legacy_pth = directory.replace(OVERRIDES, "site-legacy"), pth.replace(OVERRIDES, "site-legacy")
        pyc = f"{legacy}/{first.target}.pyc"
        lay = placeholder_pyc(base.python_executable(ctx.surface), stdlib_files(ctx.surface)[first.target], pyc)
        second = _override_plan(self, first.target, f"{first.target}.pyc is a sourceless placeholder", lay, legacy, legacy_pth)
        return base.stacked(self, first, second)


# Replace the indent of the first statement of the K-th (argv[2], default 0) module-level def/class
# with two or more statements by a tab: the next statement's four spaces are then inconsistent
# (TabError). A module with no such block (`contextvars`: one import) gets a tab before its last
# statement instead. Line numbers come from argv[3] where given (the `.orig`: a file already holding
# a tab does not parse).
TABIFY = (
    'import ast,sys;p=sys.argv[1];s=open(p,encoding="utf-8",newline="").read();L=s.split("\\n");'
    "k=int(sys.argv[2]) if len(sys.argv)>2 else 0;"
    'T=ast.parse(open(sys.argv[3] if len(sys.argv)>3 else p,encoding="utf-8").read());'
    "c=[d.body[0].lineno for d in T.body if isinstance(d,(ast.FunctionDef,ast.ClassDef))"
    " and len(d.body)>1 and d.body[0].col_offset==d.body[1].col_offset==4"
    " and d.body[1].lineno>d.body[0].lineno];n=c[k] if len(c)>k else T.body[-1].lineno;"
    'L[n-1]="\\t"+(L[n-1][4:] if len(c)>k else L[n-1]);open(p,"w",encoding="utf-8",newline="").write("\\n".join(L))'
)


class PyTabIndent(TwoTargets):
    name = "stdlib_py_tab_indent"
    category = "standard_library"
    description = "One indent of a stdlib module a test uses turned into a tab (TabError on import)."
    keywords = ("stdlib", "standard library", "syntax", "indentation", "tab", "edit", "source")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(py_files(surface, init=False))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = choose(rng, py_files(ctx.surface, init=False))
        path = stdlib_files(ctx.surface)[name]
        f, orig = shlex.quote(path), shlex.quote(path + ".orig")
        return self.make(
            name,
            f"one line of {path} is indented with a tab (the original kept as .orig)",
            [RunCommand(f"cp -p {f} {orig} && python3 -c {shlex.quote(TABIFY)} {f}")],
            [f"mv -f {orig} {f}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Two modules where there are two; else a bulk re-indent that hit two blocks of the one
        module, one step each (fixing the first TabError reveals the second)."""
        two = super().deep_plan(ctx, rng)
        if two is not None:
            return two
        plan = self.plan(ctx, rng)
        path = stdlib_files(ctx.surface)[plan.target]
        f, orig = shlex.quote(path), shlex.quote(path + ".orig")
        second = RunCommand(f"python3 -c {shlex.quote(TABIFY)} {f} 1 {orig}")
        return self.make(plan.target, f"two lines of {path} are indented with a tab (the original kept as .orig)",
                         [*plan.actions, second], plan.repair_lines, explore=plan.explore)


class PackageInitMissing(TwoTargets):
    name = "stdlib_package_init_missing"
    category = "standard_library"
    description = "A stdlib package's __init__.py moved aside: it imports as an empty namespace package."
    keywords = ("stdlib", "standard library", "package", "__init__", "namespace", "missing file")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(py_files(surface, init=True))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = choose(rng, py_files(ctx.surface, init=True))
        path = stdlib_files(ctx.surface)[name]
        f, moved = shlex.quote(path), shlex.quote(path + ".dpkg-old")
        return self.make(
            name,
            f"{path} was moved to __init__.py.dpkg-old",
            [RunCommand(f"mv {f} {moved}")],
            [f"mv -f {moved} {f}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )


class StdlibStaleBytecode(base.FaultFamily):
    name = "stdlib_stale_bytecode"
    category = "bytecode_cache"
    description = ("A stdlib module's __pycache__ entry, stamped with its source's mtime and size, holds an "
                   "empty placeholder module (a cache restored from another build).")
    keywords = ("bytecode", "pyc", "__pycache__", "cache", "stale", "stdlib", "standard library")

    @staticmethod
    def targets(surface: dict[str, Any]) -> list[str]:
        return py_files(surface, init=False) + py_files(surface, init=True)

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self.targets(surface) or function_targets(surface, "stdlib"))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """A placeholder module some test files use; where none is (a suite in one file) or half of
        the time, an older body of one function some tests call, from the call map."""
        targets, functions = self.targets(ctx.surface), function_targets(ctx.surface, "stdlib")
        if function_turn(ctx, rng, functions, targets):
            return stale_function_plan(self, ctx, rng, functions)
        return self._plan(ctx, [choose(rng, targets)])

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """A restore that stopped partway leaves several stale entries, one step each: two or three
        modules some test files use; else older functions (call map) of other modules, up to three
        steps in all, after the placeholder of the one module where there is one."""
        names = self.targets(ctx.surface)
        if len(names) >= 2:
            return self._plan(ctx, rng.sample(names, min(3, len(names))))
        tops = {base.top(n) for n in names}
        functions = [r for r in function_targets(ctx.surface, "stdlib") if base.top(r["module"]) not in tops]
        count = min(3 - len(names), module_count(functions))
        if count < 2 - len(names):  # two steps at least
            return None
        some = stale_function_plan(self, ctx, rng, functions, count=count)
        return base.stacked(self, self._plan(ctx, names), some) if names else some

    def _plan(self, ctx: base.PlanContext, names: list[str]) -> base.FaultPlan:
        python = base.python_executable(ctx.surface)
        srcs = [stdlib_files(ctx.surface)[n] for n in names]
        pycs = [cache_path(ctx.surface, s) for s in srcs]
        return self.make(
            names[0],
            f"the cached bytecode of {', '.join(srcs)} holds an empty placeholder module",
            [RunCommand(placeholder_pyc(python, src, pyc)) for src, pyc in zip(srcs, pycs, strict=True)],
            [base.recompile(python, ' '.join(shlex.quote(s) for s in srcs))],
            explore=f"ls -la {shlex.quote(os.path.dirname(pycs[0]))}",
            objects=tuple(names),
        )


FAMILIES = [
    StdlibStaleBytecode,
    ExtTruncatedUnpack,
    ExtWrongInit,
    ExtAbiTag,
    ExtOverrideShadow,
    PyStaleOverride,
    PyTabIndent,
    PackageInitMissing,
]
