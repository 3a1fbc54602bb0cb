"""Project faults: the project's own code as the interpreter loads it, not as its files read.

Modelled on a real incident class: a checkout or a `cp -p`/`rsync -t` that restores sources with their
old timestamps leaves `__pycache__` entries from an earlier version whose header (mtime and size)
still matches, so Python runs the old code while every source file reads right. Here one function
of one project module (one some test files call and others do not, never one the module calls while
it loads) is stale: the cached bytecode holds an older body that returns nothing. Only the tests that
reach that function fail, and the traceback points at correct source lines: a diagnosis, not a
lookup. The repair recompiles the cache from the sources (offline).
"""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

TESTBED = "/testbed"
# Runs in the container with the gold's interpreter: picks the function (the tests' sources are
# only there) and writes the stale cache entries. Arguments: seed, test files, then source paths.
STALE_FUNCTION = r'''
import ast, importlib.util, importlib._bootstrap_external as ext, os, random, re, sys
seed, tests, srcs = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
texts = []
for t in tests:
    try:
        texts.append(open(os.path.join("/testbed", t), encoding="utf-8", errors="replace").read())
    except OSError:
        pass
rng = random.Random(seed)
for src in srcs:
    text = open(src, encoding="utf-8").read()
    tree = ast.parse(text)
    loading = set()  # names the module itself uses while it loads (decorators, calls, defaults)
    for node in tree.body:  # a class body runs at load too: all of it counts (a safe excess)
        parts = [node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts = node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
        for part in parts:
            loading |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
    ranked = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("__") or node.name in loading:
            continue
        used = sum(1 for t in texts if re.search(r"\b%s\b" % re.escape(node.name), t))
        if used:
            ranked.append((used < len(texts), used, node.name))
    if not ranked:
        sys.exit("no function of %s is called by a test file" % src)
    ranked.sort(reverse=True)
    best = [r for r in ranked if r[0] == ranked[0][0]][: max(1, len(ranked) // 2)]
    name = rng.choice(best)[2]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            doc = [node.body[0]] if ast.get_docstring(node) is not None else []
            gen = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node))
            tail = ast.parse("return\nyield" if gen else "return None").body
            node.body = doc + tail
    code = compile(ast.fix_missing_locations(tree), src, "exec")
    st = os.stat(src)
    pyc = importlib.util.cache_from_source(src)
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    with open(pyc, "wb") as fh:
        fh.write(ext._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))
    print("stale:", src, name)
'''


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


def _command(python: str, seed: int, tests: list[str], srcs: list[str]) -> str:
    args = " ".join(shlex.quote(s) for s in srcs)
    return f"{python} -c {shlex.quote(STALE_FUNCTION)} {seed} {shlex.quote(','.join(tests))} {args}"


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
        actions = [RunCommand(_command(python, rng.randrange(1 << 30), tests, [path])) for _, path in chosen]
        paths = " ".join(shlex.quote(path) for _, path in chosen)
        return self.make(
            chosen[0][0],
            f"the cached bytecode of {', '.join(p for _, p in chosen)} holds an older body of one function",
            actions,
            [f"{python} -m compileall -q -f {paths}"],
            explore=f"ls -la --time-style=full-iso {shlex.quote(os.path.dirname(chosen[0][1]))}/__pycache__",
        )


FAMILIES = [ProjectStaleBytecode]
