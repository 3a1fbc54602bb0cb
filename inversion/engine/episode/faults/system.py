"""Faults in the system around the interpreter: PATH lookups, execute bits, interpreter links.

Tests run as root, so read/write permission bits do not bite; execute bits do.
"""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

WRAPPER_DIR = "/usr/local/bin"


def _exe_ranked(surface: dict[str, Any], *, outside: str = "") -> list[str]:
    exes = base.executables(surface)
    names = [n for n, p in sorted(exes.items()) if not outside or not p.startswith(outside + "/")]
    return names


class PathWrapperShadow(base.FaultFamily):
    name = "path_wrapper_shadow"
    layering = "beside"
    category = "path"
    description = "A stale wrapper script earlier on PATH hides a program the tests run."
    keywords = ("path", "executable", "command", "wrapper", "binary", "environment")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(_exe_ranked(surface, outside=WRAPPER_DIR))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = rng.choice(_exe_ranked(ctx.surface, outside=WRAPPER_DIR))
        wrapper = f"{WRAPPER_DIR}/{name}"
        body = f"#!/bin/sh\necho '{name}: this tool has moved; ask your administrator' >&2\nexit 127\n"
        return self.make(
            name,
            f"{wrapper} (a failing wrapper) shadows {base.executables(ctx.surface)[name]} on PATH",
            [RunCommand(f"printf %s {shlex.quote(body)} > {wrapper} && chmod 755 {wrapper}")],
            [f"rm -f {wrapper}"],
            explore="echo $PATH",
        )

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """A retired toolchain's wrappers: one for each of up to three programs the tests run, one
        step each; removing the wrapper the first error names reveals the next program's."""
        return _several(self, ctx, rng, _exe_ranked(ctx.surface, outside=WRAPPER_DIR))


class ExecBitRemoved(base.FaultFamily):
    name = "exec_bit_removed"
    category = "permissions"
    description = "Execute bits removed from a program the tests run (root is subject to them)."
    keywords = ("permission", "chmod", "mode", "executable", "ownership", "access")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(_exe_ranked(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = rng.choice(_exe_ranked(ctx.surface))
        path = base.executables(ctx.surface)[name]
        real = f'"$(readlink -f {shlex.quote(path)})"'
        return self.make(
            name,
            f"chmod a-x on {path}",
            [RunCommand(f"chmod a-x {real}")],
            [f"chmod 755 {real}"],
            explore=f"ls -la {shlex.quote(path)}",
        )

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """A hardening script's `chmod a-x` over up to three programs the tests run, one step each."""
        return _several(self, ctx, rng, _exe_ranked(ctx.surface))


def _several(fam: base.FaultFamily, ctx: base.PlanContext, rng: random.Random, names: list[str]) -> base.FaultPlan | None:
    """`fam`'s plan for each of up to three distinct programs (None where the tests run one), one
    step per program, one repair; the first program is the target, all are objects (`_fits`)."""
    if len(names) < 2:
        return None
    plans = [fam.plan(ctx, random.Random(rng.random())) for _ in range(12)]
    chosen = list({p.target: p for p in plans}.values())[:3]
    if len(chosen) < 2:
        return None
    return fam.make(chosen[0].target, "; ".join(p.summary for p in chosen),
                    [a for p in chosen for a in p.actions], [line for p in chosen for line in p.repair_lines],
                    explore=chosen[0].explore, objects=tuple(p.target for p in chosen))


class VenvPythonSymlink(base.FaultFamily):
    name = "venv_python_symlink"
    breaks_all = True
    category = "interpreter"
    description = "The virtualenv's python symlink retargeted at an interpreter that is not installed."
    keywords = ("interpreter", "python", "symlink", "venv", "virtualenv", "link")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        info = base.python_info(surface)
        exe, prefix = info.get("executable") or "", info.get("prefix") or ""
        return bool(prefix and prefix != info.get("base_prefix") and exe.startswith(prefix + "/bin/"))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        info = base.python_info(ctx.surface)
        link = f"{info['prefix']}/bin/python"
        bindir = f"{info.get('base_prefix') or '/usr'}/bin"
        original = info.get("executable_link") or "python3"  # venv's own link text, restored exactly
        wrong = rng.choice(["python3.9", "python3.8", "python3.10"])
        return self.make(
            os.path.basename(link),
            f"{link} now points at {bindir}/{wrong}, which does not exist",
            [RunCommand(f"ln -sf {bindir}/{wrong} {link}")],
            [f"ln -sfn {shlex.quote(original)} {link}"],
            explore=f"ls -la {info['prefix']}/bin",
        )


FAMILIES = [PathWrapperShadow, ExecBitRemoved, VenvPythonSymlink]
