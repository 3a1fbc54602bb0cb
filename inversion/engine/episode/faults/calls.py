"""Faults aimed at one function of an installed or standard-library module, from the gold's call map.

The call map (one profiled run of the suite at gold time, `surface["calls"]`) says which functions of
installed and stdlib modules each test calls, leaving out any the runner or an import calls outside
a test. Damaging one that some tests call and others do not fails a part of the suite even where the
whole suite is one file, which a module-level fault cannot: every test of that file imports it.

- `debugger_call_left`: a debugging session inside an installed package left
  `import ipdb; ipdb.set_trace()` as a function's first line, with a debugger this environment never
  had. Only the tests that reach that function fail (ModuleNotFoundError from deep in a dependency).
  Repair: delete the line (the file's bytes are the gold's again).
- `hotfix_patch_misapplied`: a hotfix patch meant for another release of a module was applied with
  `patch -b`: one function some tests call now has, in its source, the stub body the hunk carried
  (`raise NotImplementedError`), and the original sits beside the file as `FILE.orig`. Unlike a stale
  cache the source itself is wrong; unlike a debugger line no missing module is named: the error
  points into an installed file that reads like a deliberate stub. Repair: move the `.orig` back and
  recompile.
- `upgrade_interrupted_signature`: a `pip install --upgrade` interrupted between replacing one module of
  an installed package and the rest left that module from the next release, where one function some
  tests call takes a required keyword-only parameter more (`TypeError: ... missing 1 required
  keyword-only argument`); the old file sits in pip's uninstall stash (`~`-prefixed) beside the package.
  The symptom names a signature, not a missing module or a stub. Repair: move the stashed file back.
The stale-bytecode families use the same map to aim at one function (`stale_function_plan`).
"""

from __future__ import annotations

import os
import random
import shlex
import sys
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

DEBUG_MARK = "import ipdb; ipdb.set_trace()  # DEBUG"


FUNCTIONS_SENT = 12  # candidates per step, best first: the script takes the first that suits its edit


def edit_command(python: str, mode: str, rows: list[dict[str, Any]], ahead: str = "") -> str:
    """`scripts/function_edit.py MODE SRC=FUNCTION...` as one command (no docstring in a RUN line):
    candidates best first (the script takes the first that suits its edit); `ahead`, code the script
    reads (a template), goes before its body."""
    body = ahead + base.script_body("function_edit.py")
    pairs = " ".join(shlex.quote(f"{r['file']}={r['function']}") for r in rows[:FUNCTIONS_SENT])
    return f"{python} -c {shlex.quote(body)} {mode} {pairs}"


def sent_files(rows: list[dict[str, Any]]) -> str:
    """The files `edit_command` names (the script edits one of them), quoted for a repair line."""
    return " ".join(shlex.quote(f) for f in dict.fromkeys(r["file"] for r in rows[:FUNCTIONS_SENT]))


def suite_size(surface: dict[str, Any]) -> int:
    """How many tests ran in the profiled run."""
    return int((surface.get("calls") or {}).get("tests") or 0)


def function_targets(surface: dict[str, Any], where: str, gives: bool = True) -> list[dict[str, Any]]:
    """Call-map rows ({module, file, function, tests, gives}) of `where` ("site": installed packages,
    "stdlib": the standard library's pure-Python modules) that some tests call and others do not;
    never a module of the runner (but a submodule of its packages it does not load at start-up, such
    as the `encodings.punycode` codec), a fixture's plumbing (but what suites call as a library,
    `base.LIBRARY_PLUMBING`) or the project itself (an installed copy of it), never a private
    top-level module. With `gives` (every edit but a debugger line: a stub or an older body drops
    what the function gives back), never one that gave back nothing in the profiled run (a gold
    surveyed before stop 35 does not say: kept); xmltodict's third stale-cache step had only
    `ContentHandler.__init__` left, and failed."""
    calls = surface.get("calls") or {}
    project = {base.top(str(m.get("name") or "")) for m in (surface.get("modules") or {}).get("project") or []}
    skip = base.RUNNER_MODULES | (base.PLUMBING - base.LIBRARY_PLUMBING) | base.LAZY_RUNNER | project
    startup = set((surface.get("modules") or {}).get("startup") or [])
    site = base.site_packages(surface)
    prefix = (base.python_info(surface).get("base_prefix") or "/usr") + "/lib/python"
    rows = []
    for row in calls.get("functions") or []:
        module, path = str(row.get("module") or ""), str(row.get("file") or "")
        top = base.top(module)
        if not path.endswith(".py") or top.startswith("_") or not row.get("function") or (gives and row.get("gives") is False):
            continue
        if top in skip and not (top in base.RUNNER_MODULES and module not in startup | base.RUNNER_MODULES | base.LAZY_RUNNER):
            continue  # a runner package's submodule the runner never loads (a codec) is fair game
        in_site = bool(site) and path.startswith(site + "/")
        in_stdlib = path.startswith(prefix) and "-packages/" not in path and top in sys.stdlib_module_names
        if (where == "site" and in_site) or (where == "stdlib" and in_stdlib):
            rows.append(row)
    return rows


# Loaded before site.py reads the `.pth` files: a copy on a path one of them adds comes too late.
PRE_SITE = frozenset({"abc", "codecs", "encodings", "genericpath", "io", "os", "posixpath", "site", "stat", "zipimport"})


def shadowable(surface: dict[str, Any]) -> list[dict[str, Any]]:
    """Stdlib call-map rows of top-level single-file modules that load after site.py: a copy of one
    on a path a `.pth` puts first is the one imported (a submodule's copy is not: its package wins)."""
    return [r for r in function_targets(surface, "stdlib")
            if "." not in r["module"] and r["module"] not in PRE_SITE and os.path.basename(r["file"]) == f"{r['module']}.py"]


def function_turn(ctx: base.PlanContext, rng: random.Random, rows: list[dict[str, Any]], targets: Any) -> bool:
    """Whether a family with a module-level and a call-map plan takes the call-map one: where the
    module-level one has no target (`targets` is empty: a suite in one file) or the gold has its share
    of whole-suite tasks (`PlanContext.aim_calls`), else half of the time."""
    return bool(rows) and (not targets or ctx.aim_calls or rng.random() < 0.5)


def one_module(rng: random.Random, surface: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The candidate rows of one module (`choose_module`), for an edit of one of its functions."""
    return pick_modules(rng, rows, suite_size(surface), 1)[0]


def copy_command(python: str, mode: str, dest: str, rows: list[dict[str, Any]]) -> str:
    """`function_edit.py shadowcopy|stagecopy|zipcopy DEST ...`: a stubbed copy of one of those modules."""
    return edit_command(python, f"{mode} {shlex.quote(dest)}", rows)


def choose_module(rng: random.Random, rows: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """A module (so one big module's many functions do not crowd out the rest), and its functions in a
    seeded order, the better half by how evenly each splits the suite first, then a few of the other
    modules' (which of them suits an edit, one returning a value, is only known where the source is)."""
    module = rng.choice(sorted({r["module"] for r in rows}))
    others = [r for r in rows if r["module"] != module]
    return _ordered(rng, [r for r in rows if r["module"] == module], total) + _ordered(rng, others, total)


def _ordered(rng: random.Random, rows: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    mine = sorted(rows, key=lambda r: (abs(2 * r["tests"] - total), r["function"]))
    half = max(1, (len(mine) + 1) // 2)
    head, tail = mine[:half], mine[half:]
    rng.shuffle(head)
    rng.shuffle(tail)
    return head + tail


def stale_function_plan(fam: base.FaultFamily, ctx: base.PlanContext, rng: random.Random,
                        rows: list[dict[str, Any]], count: int = 1) -> base.FaultPlan:
    """Stale `__pycache__` entries that hold an older body of one function some tests call (returns
    nothing), in `count` modules, one step each (a rollback that stopped partway leaves several)."""
    chosen = pick_modules(rng, rows, suite_size(ctx.surface), count)
    python, srcs = base.python_executable(ctx.surface), [mine[0]["file"] for mine in chosen]
    return fam.make(
        chosen[0][0]["module"],
        f"the cached bytecode of {' and of '.join(srcs)} holds an older body of one function some tests call",
        [RunCommand(edit_command(python, "stale", mine)) for mine in chosen],
        [base.recompile(python, ' '.join(sent_files(mine) for mine in chosen))],
        explore=f"ls -la {shlex.quote(os.path.dirname(srcs[0]))}/__pycache__",
        objects=candidate_modules(chosen),
    )


def candidate_modules(chosen: list[list[dict[str, Any]]]) -> tuple[str, ...]:
    """Every module the edit may land in: the script takes the first pair that suits it, a few of
    other modules' among them, and the repair covers them all (wcwidth: a debugger line meant for
    email.feedparser, a repair that also edits email/parser.py, and a diversion of that file laid
    on top, which the repair then could not edit: *every layer matters* refused the task)."""
    return tuple(dict.fromkeys(row["module"] for mine in chosen for row in mine[:FUNCTIONS_SENT]))


def pick_modules(rng: random.Random, rows: list[dict[str, Any]], total: int, count: int) -> list[list[dict[str, Any]]]:
    """`count` candidate lists (`choose_module`), each led by another module while any is left."""
    chosen: list[list[dict[str, Any]]] = []
    while len(chosen) < count:
        rest = [r for r in rows if r["module"] not in {c[0]["module"] for c in chosen}]
        if not rest:
            break
        chosen.append(choose_module(rng, rest, total))
    return chosen


def module_count(rows: list[dict[str, Any]]) -> int:
    return len({r["module"] for r in rows})


class CallMapFamily(base.FaultFamily):
    """A family aimed through the call map at one function some tests call (`_rows`), in one module,
    or one in each of up to three for the multi-step variant (`_plan` with `count`)."""

    acts = "call"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self._rows(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self._plan(ctx, rng, count=1)

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """A longer session: the fault in one function of each of up to three modules, one step each,
        as the project families and a stale cache spread theirs (an upgrade stops partway through a
        package's files, a debugging session visits several): each module the repair misses keeps its
        tests failing."""
        modules = module_count(self._rows(ctx.surface))
        return self._plan(ctx, rng, count=min(3, modules)) if modules >= 2 else None

    def _rows(self, surface: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        raise NotImplementedError


class _FunctionEdit(CallMapFamily):
    """An in-place edit of one function some tests call (`function_edit.py MODE`)."""

    mode = ""
    gives = True  # the edit drops what the function gives back: only functions that gave back a value qualify

    def _rows(self, surface: dict[str, Any]) -> list[dict[str, Any]]:
        return function_targets(surface, "site", self.gives) or function_targets(surface, "stdlib", self.gives)

    def _plan(self, ctx: base.PlanContext, rng: random.Random, *, count: int) -> base.FaultPlan:
        chosen = pick_modules(rng, self._rows(ctx.surface), suite_size(ctx.surface), count)
        python = base.python_executable(ctx.surface)
        files = " ".join(sent_files(mine) for mine in chosen)
        return self.make(
            chosen[0][0]["module"],
            self._what(" and in ".join(mine[0]["file"] for mine in chosen)),
            [RunCommand(edit_command(python, self._mode(ctx.surface), mine)) for mine in chosen],
            # and recompile: another layer's repair may have cached bytecode of the edited source
            # (a stale cache of json over this line in json: the verifier flagged that .pyc)
            [self._undo(files, ctx.surface), base.recompile(python, files)],
            explore=f"ls -la {shlex.quote(os.path.dirname(chosen[0][0]['file']))}",
            objects=candidate_modules(chosen),
        )

    def _mode(self, surface: dict[str, Any]) -> str:
        return self.mode

    def _what(self, files: str) -> str:
        raise NotImplementedError

    def _undo(self, files: str, surface: dict[str, Any]) -> str:
        raise NotImplementedError


class DebuggerCallLeft(_FunctionEdit):
    name = "debugger_call_left"
    category = "debug_leftover"
    description = ("A debugging session inside an installed package left `import ipdb; ipdb.set_trace()` as "
                   "the first line of a function some tests reach; this environment never had ipdb.")
    keywords = ("debug", "debugger", "ipdb", "pdb", "set_trace", "leftover", "site-packages", "edit")
    mode = "debugline"
    gives = False  # a debugger line needs only a statement to go before

    def _what(self, files: str) -> str:
        return f"a leftover debugger call (a debugger never installed here) opens one function some tests call in {files}"

    def _undo(self, files: str, surface: dict[str, Any]) -> str:
        mark = DEBUG_MARK.replace(".", r"\.")
        return f"sed -i '/^[[:space:]]*{mark}\\r\\?$/d' {files}"


class HotfixPatchMisapplied(_FunctionEdit):
    name = "hotfix_patch_misapplied"
    category = "local_patch"
    description = ("A hotfix patch for another release, applied with `patch -b` to a module some tests call, "
                   "left one function with a stub body that raises NotImplementedError; the original is FILE.orig.")
    keywords = ("patch", "hotfix", "orig", "backport", "local patch", "source edit", "site-packages")
    mode = "patched"

    def _what(self, files: str) -> str:
        return (f"a hotfix patch for another release gave one function some tests call a stub body in {files} "
                "(patch -b kept each original as .orig)")

    def _undo(self, files: str, surface: dict[str, Any]) -> str:
        return f'for f in {files}; do if [ -f "$f.orig" ]; then mv -f "$f.orig" "$f"; fi; done'


def stash_of(site: str, src: str) -> str:
    """Where pip's uninstall stash keeps `src`, a file below `site` (as `function_edit.stash_of`)."""
    top, _, rest = src[len(site) + 1:].partition("/")
    return os.path.join(site, "~" + top[1:], rest) if rest else os.path.join(site, "~" + top[1:])


class UpgradeInterrupted(_FunctionEdit):
    name = "upgrade_interrupted_signature"
    category = "interrupted_upgrade"
    description = ("A pip upgrade interrupted partway left one module of an installed package from the next "
                   "release, where a function some tests reach takes a required keyword-only parameter more; "
                   "the old file sits in pip's ~-prefixed stash beside the package.")
    keywords = ("upgrade", "interrupted", "pip", "stash", "signature", "typeerror", "keyword", "release", "site-packages")
    gives = False  # the call fails, whatever the function gives back

    def _rows(self, surface: dict[str, Any]) -> list[dict[str, Any]]:
        new = tuple(int(p) for p in base.py_version(surface).split(".")) >= (3, 9)  # ast.unparse
        return function_targets(surface, "site", self.gives) if new and base.site_packages(surface) else []

    def _mode(self, surface: dict[str, Any]) -> str:
        return f"upgraded {shlex.quote(base.site_packages(surface))}"

    def _what(self, files: str) -> str:
        return (f"an interrupted upgrade left {files} from the next release (one function some tests call takes a "
                "required keyword-only parameter more), the old file in pip's stash beside the package")

    def _undo(self, files: str, surface: dict[str, Any]) -> str:
        site = base.site_packages(surface)
        pairs = " ".join(shlex.quote(f"{stash_of(site, f)}|{f}") for f in shlex.split(files))
        return (f'for p in {pairs}; do s="${{p%%|*}}"; if [ -f "$s" ]; then mv -f "$s" "${{p#*|}}"; fi; done; '
                f"find {shlex.quote(site)} -maxdepth 1 -name '~*' -type d -exec find {{}} -depth -type d -empty -delete ';'")


FAMILIES = [DebuggerCallLeft, HotfixPatchMisapplied, UpgradeInterrupted]
