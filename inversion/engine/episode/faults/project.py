"""Project faults: the project's own code as the interpreter loads it, not as its files read.

Only the tests that reach one function of one project module fail (a function some test files name
and others do not, never one the module uses while it loads; chosen in the container, where the
tests' sources are, by `scripts/project_break.py`), and tracebacks point at correct source lines:
a diagnosis, not a lookup. Modelled on real incident classes:

- `project_stale_bytecode`: a checkout or a `cp -p`/`rsync -t` restored sources with old timestamps,
  so a `__pycache__` entry of an earlier version whose header (source mtime and size) still matches
  runs instead; its function body returns nothing. Repair: recompile the cache (offline).
- `instrumentation_wrapper_drops_result`: an APM/tracing agent's auto-instrumentation, loaded by a
  `.pth`, wraps the function through a post-import hook in a "span" decorator that forgets to return
  the value. Source and bytecode are right; `inspect.getsourcefile` names the wrapper. Repair: remove
  the `.pth` and its bootstrap.
"""

from __future__ import annotations

import os
import random
import shlex
from pathlib import Path
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

TESTBED = "/testbed"
SCRIPTS = Path(__file__).parent / "scripts"


def _script(mode: str, python: str, seed: int, tests: list[str], args: list[str]) -> str:
    """`scripts/project_break.py MODE` as one command (the auto-instrumentation template inlined)."""
    body = (SCRIPTS / "project_break.py").read_text().split('"""', 2)[2].lstrip()  # no docstring in a RUN line
    if mode == "wrap":
        body = f"HOOK_TEMPLATE = {(SCRIPTS / 'apm_hook.py').read_text()!r}\n" + body
    rest = " ".join(shlex.quote(a) for a in args)
    return f"{python} -c {shlex.quote(body)} {mode} {seed} {shlex.quote(','.join(tests))} {rest}"


def project_sources(surface: dict[str, Any]) -> list[tuple[str, str]]:
    """(module, file) of the project's own modules the tests load from /testbed, sorted; tests,
    conftests and packaging files excluded."""
    tests = set(base.test_files(surface))
    out = []
    for m in (surface.get("modules") or {}).get("project") or []:
        name, path = str(m.get("name") or ""), str(m.get("file") or "")
        if not path.endswith(".py") or not path.startswith(TESTBED + "/"):
            continue
        rel = path[len(TESTBED) + 1:]
        leaf = os.path.basename(path)
        if rel in tests or leaf.startswith(("test_", "conftest")) or leaf.endswith("_test.py") or "/tests/" in f"/{rel}":
            continue
        if leaf in ("setup.py", "__main__.py", "_version.py", "version.py"):
            continue
        out.append((name, path))
    return sorted(out)


class ProjectStaleBytecode(base.FaultFamily):
    name = "project_stale_bytecode"
    category = "stale_build"
    description = ("A __pycache__ entry of a project module, stamped with its source's mtime and size, "
                   "holds an older body of one function that some tests call.")
    keywords = ("bytecode", "pyc", "__pycache__", "stale", "cache", "checkout", "timestamp", "project")
    layering = "in_place"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(project_sources(surface)) and bool(base.test_files(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self._plan(ctx, rng, count=1)

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Two modules' caches stale, one step each (an interrupted sync leaves more than one)."""
        return self._plan(ctx, rng, count=2) if len(project_sources(ctx.surface)) >= 2 else None

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        sources = project_sources(ctx.surface)
        chosen = rng.sample(sources, min(count, len(sources)))
        python = base.python_info(ctx.surface).get("executable") or "python"
        tests = base.test_files(ctx.surface)
        actions = [RunCommand(_script("stale", python, rng.randrange(1 << 30), tests, [path])) for _, path in chosen]
        paths = " ".join(shlex.quote(path) for _, path in chosen)
        return self.make(
            chosen[0][0],
            f"the cached bytecode of {', '.join(p for _, p in chosen)} holds an older body of one function",
            actions,
            [f"{python} -m compileall -q -f {paths}"],
            explore=f"ls -la --time-style=full-iso {shlex.quote(os.path.dirname(chosen[0][1]))}/__pycache__",
        )


class ProjectInstrumentationWrapper(base.FaultFamily):
    name = "instrumentation_wrapper_drops_result"
    category = "instrumentation"
    description = ("A .pth loads an auto-instrumentation bootstrap whose post-import hook wraps one project "
                   "function that some tests call in a span that drops its return value.")
    keywords = ("instrumentation", "apm", "tracing", "monkeypatch", "import hook", ".pth", "wrapper", "startup")
    layering = "beside"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(project_sources(surface)) and bool(base.test_files(surface)) and bool(base.site_packages(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self._plan(ctx, rng, count=1)

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """The bootstrap in one step, its .pth in another, two modules wrapped."""
        if len(project_sources(ctx.surface)) < 2:
            return None
        plan = self._plan(ctx, rng, count=2)
        pth = plan.summary.split(" loads ", 1)[0]
        hidden = pth + ".off"
        first = RunCommand(plan.actions[0].command.replace(shlex.quote(pth), shlex.quote(hidden), 1))
        return base.FaultPlan(plan.family, plan.category, plan.target, plan.summary,
                              (first, RunCommand(f"mv {shlex.quote(hidden)} {shlex.quote(pth)}")),
                              plan.repair, plan.explore)

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        sources = project_sources(ctx.surface)
        chosen = rng.sample(sources, min(count, len(sources)))
        python = base.python_info(ctx.surface).get("executable") or "python"
        sp = base.site_packages(ctx.surface)
        hook, pth = f"{sp}/apm_autowrap.py", f"{sp}/apm-autowrap.pth"
        pairs = [f"{module}={path}" for module, path in chosen]
        return self.make(
            chosen[0][0],
            f"{pth} loads {hook}, whose post-import hook wraps a function of {', '.join(m for m, _ in chosen)} "
            "in a span that drops the return value",
            [RunCommand(_script("wrap", python, rng.randrange(1 << 30), base.test_files(ctx.surface),
                                [hook, pth, *pairs]))],
            [f"rm -f {shlex.quote(pth)} {shlex.quote(hook)}", f"rm -rf {shlex.quote(sp)}/__pycache__/apm_autowrap.*"],
            explore=f"ls {shlex.quote(sp)}",
        )


FAMILIES = [ProjectStaleBytecode, ProjectInstrumentationWrapper]
