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
- `project_truncated_module`: a copy that ran out of space left a module cut short at a statement
  boundary (it still imports; the functions after the cut are gone), the whole file staged beside it
  under the hidden temporary name rsync gives the file it copies to. Repair: move the staged copy
  back (the gold's bytes, mode and times).
"""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

TESTBED = "/testbed"
SCRIPTS = base.SCRIPTS
# Packaging and generated files; a `version.py` may be the project's core (semver's Version class):
# one a tool generated defines no function, and the in-container script passes it over.
SKIPPED = ("setup.py", "__main__.py", "_version.py")
NOT_CODE = ("docs/", "doc/", "examples/")  # Sphinx's conf.py and examples: no test runs them as code


# Rewrites each timestamp-checked cache entry of the given sources as an unchecked-hash pyc (PEP 552:
# flags 0b01, then the source's hash) with the same code; Python < 3.7 has none and writes nothing.
UNCHECKED = (
    "import importlib.util, sys\n"
    "for src in sys.argv[1:] if hasattr(importlib.util, 'source_hash') else []:\n"
    "    pyc = importlib.util.cache_from_source(src)\n"
    "    try:\n"
    "        data = open(pyc, 'rb').read()\n"
    "    except OSError:\n"
    "        continue\n"
    "    if len(data) > 16 and data[4:8] == bytes(4):\n"
    "        digest = importlib.util.source_hash(open(src, 'rb').read())\n"
    "        open(pyc, 'wb').write(data[:4] + (1).to_bytes(4, 'little') + digest + data[16:])\n"
)


def _script(mode: str, python: str, seed: int, tests: list[str], args: list[str]) -> str:
    """`scripts/project_break.py MODE` (`optional_stub.py` for `optional`) as one command (the
    auto-instrumentation template inlined)."""
    body = base.script_body("optional_stub.py" if mode == "optional" else "project_break.py")
    if mode == "wrap":
        body = f"HOOK_TEMPLATE = {(SCRIPTS / 'apm_hook.py').read_text()!r}\n" + body
    rest = " ".join(shlex.quote(a) for a in args)
    return f"{python} -c {shlex.quote(body)} {mode} {seed} {shlex.quote(','.join(tests))} {rest}"


def _shuffled(surface: dict[str, Any], rng: random.Random) -> list[tuple[str, str]]:
    """The project's modules in a seeded order: the script takes the first ones with a function to
    aim at (which ones have one is only known where the sources are)."""
    sources = project_sources(surface)
    rng.shuffle(sources)
    return sources


def _nth_steps(mode: str, ctx: base.PlanContext, rng: random.Random, count: int) -> tuple[list[tuple[str, str]], str, list]:
    """(the project's sources in a seeded order, the gold's interpreter, one `mode` step per module:
    the NTH of them, n < count, that has a function to aim at)."""
    sources = _shuffled(ctx.surface, rng)
    python = base.python_executable(ctx.surface)
    tests, seed = base.test_files(ctx.surface), rng.randrange(1 << 30)
    actions = [RunCommand(_script(mode, python, seed, tests, [str(n), *(p for _, p in sources)])) for n in range(count)]
    return sources, python, actions


def _upto(count: int) -> str:
    """A multi-step variant's later steps change nothing where the project has no further module to
    aim at (the script says so), so its summary promises at most `count`."""
    return str(count) if count == 1 else f"up to {count}"


def _package(sources: list[tuple[str, str]]) -> str:
    """The target a signature names: the project's top-level package (its most common one)."""
    tops = [base.top(module) for module, _ in sources]
    return max(sorted(set(tops)), key=tops.count)


def project_sources(surface: dict[str, Any]) -> list[tuple[str, str]]:
    """(module, file) of the project's own modules the tests load from /testbed, or from site-packages
    where the project was installed from its tree (`project_dists`), sorted, one per file; tests,
    conftests and packaging files excluded. A file loaded under two names (toolz's `tlz`
    aliases every `toolz` module) keeps the name its path spells, so a target names the package
    whose files the fault changes and no file is aimed at twice."""
    tests = set(base.test_files(surface))
    out: list[tuple[str, str]] = []
    for m in (surface.get("modules") or {}).get("project") or []:
        name, path = str(m.get("name") or ""), str(m.get("file") or "")
        if not path.endswith(".py") or not path.startswith(TESTBED + "/"):
            continue
        rel = path[len(TESTBED) + 1:]
        leaf = os.path.basename(path)
        if rel in tests or leaf.startswith(("test_", "conftest")) or leaf.endswith("_test.py") or "/tests/" in f"/{rel}":
            continue
        if rel.startswith(NOT_CODE):  # semver: a cut docs/conf.py broke nothing, in episode after episode
            continue
        if leaf in SKIPPED:
            continue
        out.append((name, path))
    installed = set(surface.get("project_dists") or [])
    for m in (surface.get("modules") or {}).get("site") or []:
        path = str(m.get("file") or "")
        name = str(m.get("name") or "")
        if m.get("dist") not in installed or not path.endswith(".py") or os.path.basename(path) in SKIPPED:
            continue
        if base.top(name) not in base.RUNNER_MODULES:  # pluggy's own tests: pytest runs on it
            out.append((name, path))
    by_file: dict[str, str] = {}
    for name, path in sorted(out):
        spelled = "." + path[len(TESTBED) + 1:-3].removesuffix("/__init__").replace("/", ".")
        if path not in by_file or spelled.endswith("." + name) and not spelled.endswith("." + by_file[path]):
            by_file[path] = name
    return sorted((name, path) for path, name in by_file.items())


class _OneFunction(base.FaultFamily):
    """A family aimed at one function of the project's code (in the multi-step variant, one in each of
    two modules, or three where the project has four or more)."""

    needs_site = False  # writes into site-packages
    kin = "project_source"  # a project module loads other than its source reads (a function missing)

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return (bool(project_sources(surface)) and bool(base.test_files(surface))
                and (not self.needs_site or bool(base.site_packages(surface))))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self._plan(ctx, rng, count=1)

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Up to three modules, one step each: a later step that finds no further module to aim at
        changes nothing (`project_break.py`), so the variant keeps what the project allows."""
        sources = len(project_sources(ctx.surface))
        return self._plan(ctx, rng, count=min(3, sources)) if sources >= 2 else None

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        raise NotImplementedError


class ProjectStaleBytecode(_OneFunction):
    name = "project_stale_bytecode"
    category = "stale_build"
    description = ("A __pycache__ entry of a project module, stamped with its source's mtime and size, "
                   "holds an older body of one function that some tests call.")
    keywords = ("bytecode", "pyc", "__pycache__", "stale", "cache", "checkout", "timestamp", "project")
    acts = "call"
    layering = "in_place"

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Two or three stale modules where the project has them, one where it has one; then the caches
        made unchecked-hash pycs, as a read-only deploy's `compileall --invalidation-mode
        unchecked-hash` writes them: the interpreter never compares them with their sources again, so
        touching or editing a source (the usual cure for a stale cache) changes nothing; only a
        recompile or removing the cache does. The step adds a line where a single-module project
        (wcwidth, parse, semver) gave the layer one."""
        sources = len(project_sources(ctx.surface))
        return self._plan(ctx, rng, count=min(3, sources), unchecked=True) if sources else None

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int, unchecked: bool = False) -> base.FaultPlan:
        """One step per stale module: the NTH module (in a seeded order) with a function to aim at.
        Two or three modules in the multi-step variant (an interrupted sync leaves more than one)."""
        sources, python, actions = _nth_steps("stale", ctx, rng, count)
        paths = " ".join(shlex.quote(path) for _, path in sources)
        if unchecked:
            actions.append(RunCommand(f"{python} -c {shlex.quote(UNCHECKED)} {paths}"))
        return self.make(
            _package(sources),
            f"the cached bytecode of {_upto(count)} module(s) of {_package(sources)} holds an older body of one function"
            + (", written as unchecked-hash pycs that never compare with their sources" if unchecked else ""),
            actions,
            [base.recompile(python, paths)],
            explore=f"ls -la --time-style=full-iso {shlex.quote(os.path.dirname(sources[0][1]))}/__pycache__",
        )


class ProjectInstrumentationWrapper(_OneFunction):
    name = "instrumentation_wrapper_drops_result"
    category = "instrumentation"
    description = ("A .pth loads an auto-instrumentation bootstrap whose post-import hook wraps one project "
                   "function that some tests call in a span that drops its return value.")
    keywords = ("instrumentation", "apm", "tracing", "monkeypatch", "import hook", ".pth", "wrapper", "startup")
    acts = "call"
    layering = "beside"
    needs_site = True
    kin = ""  # a hook in site-packages; the project's modules load as their source reads

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        """The multi-step variant (two functions) writes the .pth aside, then moves it in place: the
        bootstrap in one step, its .pth in another."""
        sources = _shuffled(ctx.surface, rng)
        python = base.python_executable(ctx.surface)
        sp = base.site_packages(ctx.surface)
        hook, pth = f"{sp}/apm_autowrap.py", f"{sp}/apm-autowrap.pth"
        staged = pth + ".off" if count > 1 else pth
        args = [hook, staged, str(count), *(f"{module}={path}" for module, path in sources)]
        actions = [RunCommand(_script("wrap", python, rng.randrange(1 << 30), base.test_files(ctx.surface), args))]
        if staged != pth:
            actions.append(RunCommand(f"mv {shlex.quote(staged)} {shlex.quote(pth)}"))
        return self.make(
            _package(sources),
            f"{pth} loads {hook}, whose post-import hook wraps {_upto(count)} function(s) of {_package(sources)} "
            "in a span that drops the return value",
            actions,
            [f"rm -f {shlex.quote(pth)} {shlex.quote(hook)}", f"rm -rf {shlex.quote(sp)}/__pycache__/apm_autowrap.*"],
            explore=f"ls {shlex.quote(sp)}",
        )


class ProjectLeftoverPackage(_OneFunction):
    name = "project_leftover_package"
    category = "project_layout"
    description = ("A package directory of an older layout left beside the project module that replaced it "
                   "(a sync without --delete): the import system takes it, and it lacks one function some tests call.")
    keywords = ("layout", "leftover", "package", "module", "shadow", "sync", "refactor", "project")
    layering = "beside"

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        modules = [p for _, p in project_sources(ctx.surface) if not p.endswith("__init__.py")]
        return self._plan(ctx, rng, count=min(3, len(modules))) if len(modules) >= 2 else None

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        """One step per leftover directory (two modules in the multi-step variant)."""
        sources, _, actions = _nth_steps("leftover", ctx, rng, count)
        dirs = " ".join(shlex.quote(path[:-3]) for _, path in sources if not path.endswith("__init__.py"))
        return self.make(
            _package(sources),
            f"{_upto(count)} module(s) of {_package(sources)} are shadowed by an older layout's package directory "
            "that lacks one function",
            actions,
            [f'for d in {dirs}; do if [ -f "$d/__init__.py" ] && [ -f "$d.py" ]; then rm -rf "$d"; fi; done'],
            explore=f"ls -la {shlex.quote(os.path.dirname(sources[0][1]))}",
        )


class ProjectTruncatedModule(_OneFunction):
    name = "project_truncated_module"
    category = "partial_write"
    description = ("A project module cut short at a statement boundary by a copy that ran out of space: it "
                   "imports, and the functions after the cut, which some tests call, are gone.")
    keywords = ("truncated", "partial", "copy", "rsync", "disk full", "attributeerror", "project", "sync")

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        """One step per cut module (two or three in the multi-step variant: the copy stopped once the
        disk was full, and each later file it wrote was cut too)."""
        sources, _, actions = _nth_steps("truncate", ctx, rng, count)
        paths = " ".join(shlex.quote(path) for _, path in sources)
        return self.make(
            _package(sources),
            f"{_upto(count)} module(s) of {_package(sources)} cut short by a copy that ran out of space, "
            "each whole file staged beside it under a hidden temporary name",
            actions,
            [f'for p in {paths}; do for s in "$(dirname "$p")/.$(basename "$p")".??????; do '
             'if [ -f "$s" ]; then mv -f "$s" "$p"; fi; done; done'],
            explore=f"ls -la {shlex.quote(os.path.dirname(sources[0][1]))}",
        )


class OptionalAcceleratorStub(base.FaultFamily):
    name = "optional_accelerator_half_installed"
    category = "optional_dependency"
    description = ("A half-installed optional accelerator (package and dist-info) for a module the project "
                   "tries to import and falls back from: it imports, and its functions raise.")
    keywords = ("optional", "accelerator", "speedups", "fallback", "package", "half-installed", "import")
    acts = "call"
    layering = "beside"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        """Any project with code of its own: whether it has such an import is found in the container
        (the step fails, and the agent moves on, where it has none)."""
        return bool(project_sources(surface)) and bool(base.site_packages(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        python = base.python_executable(ctx.surface)
        sp = base.site_packages(ctx.surface)
        marker = "is not available in this build"
        return self.make(
            "optional import",
            f"a half-installed accelerator in {sp} for an optional import of the project: it imports, "
            "and every function raises",
            [RunCommand(_script("optional", python, rng.randrange(1 << 30), ["-"], [sp]))],
            [f"for d in {shlex.quote(sp)}/*/; do grep -qs {shlex.quote(marker)} \"$d/__init__.py\" || continue; "
             'rm -rf "$d" "${d%/}"-*.dist-info; done'],
            explore=f"ls {shlex.quote(sp)}",
        )


FAMILIES = [ProjectStaleBytecode, ProjectInstrumentationWrapper, ProjectLeftoverPackage, ProjectTruncatedModule,
            OptionalAcceleratorStub]
