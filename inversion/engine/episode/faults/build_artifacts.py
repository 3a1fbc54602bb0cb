"""Build artifacts left in the project tree: compiled modules the import system prefers to the source.

`project_extension_leftover`: an in-place build (mypyc or Cython `build_ext --inplace`, as projects
that ship compiled wheels run in development) left `MODULE.<abi>.so` beside a project module. The
import system tries extension suffixes before `.py`, so the stale build loads instead and fails
(it is another module's binary: no `PyInit_<module>`). Aimed at project submodules that some test
files import and others do not (idna's `codec`: the codec tests fail, the core tests pass), read from
the per-file import record by full name; never a package's `__init__`, never one loaded at start-up.
Repair: remove the compiled leftovers (the sources were never touched).
"""

from __future__ import annotations

import os
import random
import re
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base
from inversion.engine.episode.faults.project import project_sources
from inversion.engine.episode.faults.stdlib_targets import startup_names, stdlib_files

SUFFIX = re.compile(r"\.(cpython-[^/]+\.so)$")


def module_targets(surface: dict[str, Any]) -> list[str]:
    """Project submodules (not `__init__`) some but not all test files import, best first."""
    sources = dict(project_sources(surface))
    at_start = startup_names(surface)
    candidates = sorted(n for n, path in sources.items()
                        if "." in n and not path.endswith("/__init__.py") and n not in at_start)
    per_file = surface.get("per_file") or {}
    mapping = {f: set(v.get("modules") or []) & set(candidates) for f, v in per_file.items()}
    ranked = base.rank_targets(candidates, mapping)
    return list(ranked[: ranked.preferred or 0])


def donor(surface: dict[str, Any]) -> str:
    """A compiled stdlib module of this interpreter, whose ABI suffix the leftover carries."""
    found = sorted(p for p in stdlib_files(surface).values() if SUFFIX.search(p))
    return found[0] if found else ""


class ProjectExtensionLeftover(base.FaultFamily):
    name = "project_extension_leftover"
    category = "build_artifact"
    description = ("A stale in-place build left a compiled MODULE.<abi>.so beside a project module some test "
                   "files import; the import system loads it before the source, and it is not that module.")
    keywords = ("build", "extension", ".so", "mypyc", "cython", "build_ext", "inplace", "artifact", "project")
    layering = "beside"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(module_targets(surface)) and bool(donor(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self._plan(ctx, [rng.choice(module_targets(ctx.surface))])

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """The build compiled more than one module: two of them, one step each (removing one
        leftover reveals the other's failures)."""
        targets = module_targets(ctx.surface)
        return self._plan(ctx, rng.sample(targets, 2)) if len(targets) >= 2 else None

    def _plan(self, ctx: base.PlanContext, names: list[str]) -> base.FaultPlan:
        sources, so = dict(project_sources(ctx.surface)), donor(ctx.surface)
        suffix = SUFFIX.search(so).group(1)  # type: ignore[union-attr]
        built = [f"{sources[n][:-3]}.{suffix}" for n in names]
        return self.make(
            names[0],
            f"a stale in-place build left {', '.join(built)} beside the source",
            [RunCommand(f"cp {shlex.quote(so)} {shlex.quote(b)}") for b in built],
            [f"rm -f {' '.join(shlex.quote(b) for b in built)}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(built[0]))}",
            objects=tuple(names),
        )


FAMILIES = [ProjectExtensionLeftover]
