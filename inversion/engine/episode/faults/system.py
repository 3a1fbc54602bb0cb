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


class _Programs(base.FaultFamily):
    """A family aimed at a program the tests run: `aimed` breaks one; the multi-step variant breaks
    up to three of them, one step each, with one repair (fixing the program the first error names
    reveals the next one's)."""

    @staticmethod
    def programs(surface: dict[str, Any]) -> list[str]:
        return _exe_ranked(surface)

    def aimed(self, ctx: base.PlanContext, name: str) -> base.FaultPlan:
        raise NotImplementedError

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self.programs(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self.aimed(ctx, rng.choice(self.programs(ctx.surface)))

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """None where the tests run a single program."""
        names = self.programs(ctx.surface)
        if len(names) < 2:
            return None
        return base.stacked(self, *(self.aimed(ctx, n) for n in rng.sample(names, min(3, len(names)))))


class PathWrapperShadow(_Programs):
    """Multi-step: a retired toolchain's wrappers, one per program."""

    name = "path_wrapper_shadow"
    layering = "beside"
    category = "path"
    description = "A stale wrapper script earlier on PATH hides a program the tests run."
    keywords = ("path", "executable", "command", "wrapper", "binary", "environment")

    @staticmethod
    def programs(surface: dict[str, Any]) -> list[str]:
        return _exe_ranked(surface, outside=WRAPPER_DIR)

    def aimed(self, ctx: base.PlanContext, name: str) -> base.FaultPlan:
        wrapper = f"{WRAPPER_DIR}/{name}"
        body = f"#!/bin/sh\necho '{name}: this tool has moved; ask your administrator' >&2\nexit 127\n"
        return self.make(
            name,
            f"{wrapper} (a failing wrapper) shadows {base.executables(ctx.surface)[name]} on PATH",
            [RunCommand(f"printf %s {shlex.quote(body)} > {wrapper} && chmod 755 {wrapper}")],
            [f"rm -f {wrapper}"],
            explore="echo $PATH",
        )


class ExecBitRemoved(_Programs):
    """Multi-step: a hardening script's `chmod a-x` over several programs."""

    name = "exec_bit_removed"
    category = "permissions"
    description = "Execute bits removed from a program the tests run (root is subject to them)."
    keywords = ("permission", "chmod", "mode", "executable", "ownership", "access")

    def aimed(self, ctx: base.PlanContext, name: str) -> base.FaultPlan:
        path = base.executables(ctx.surface)[name]
        real = f'"$(readlink -f {shlex.quote(path)})"'
        return self.make(
            name,
            f"chmod a-x on {path}",
            [RunCommand(f"chmod a-x {real}")],
            [f"chmod 755 {real}"],
            explore=f"ls -la {shlex.quote(path)}",
        )


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
