"""The fault-family contract, surface helpers every family shares, and a lazy registry.

A family is a kind of breakage with a precondition on the gold surface (`applicable`), concrete
actions aimed at real paths from that surface (`plan`) and an offline repair script. Repairs are
edits, moves, chmods, symlinks or regenerations that work inside the broken container with no
network: episode ENV lines cannot be unset by a script, so a family that sets a variable makes it
point at something the repair can fix on disk.
"""

from __future__ import annotations

import importlib
import io
import os
import random
import re
import shlex
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inversion.engine.episode.actions import RunCommand, SetEnv

FAMILY_MODULES = (
    "inversion.engine.episode.faults.sharedlib",
    "inversion.engine.episode.faults.pydeps",
    "inversion.engine.episode.faults.hooks",
    "inversion.engine.episode.faults.envvars",
    "inversion.engine.episode.faults.system",
    "inversion.engine.episode.faults.config",
    "inversion.engine.episode.faults.filesystem",
    "inversion.engine.episode.faults.linker",
    "inversion.engine.episode.faults.textenv",
    "inversion.engine.episode.faults.hostsys",
    "inversion.engine.episode.faults.packages",
    "inversion.engine.episode.faults.stdlib",
    "inversion.engine.episode.faults.stdlib_tools",
    "inversion.engine.episode.faults.project",
    "inversion.engine.episode.faults.build_artifacts",
    "inversion.engine.episode.faults.calls",
    "inversion.engine.episode.faults.shims",
)
# Modules the runner itself needs; breaking them breaks everything and tells nothing.
RUNNER_MODULES = {
    "pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py", "_distutils_hack", "setuptools",
    "pip", "pkg_resources", "tomli", "exceptiongroup", "colorama", "pygments", "studio_pytest_plugin", "studio_pytest_calls",
    "site", "sitecustomize", "usercustomize", "__main__", "encodings", "importlib", "os", "sys", "io",
    "abc", "codecs", "typing", "re", "enum", "functools", "collections", "types", "warnings",
}
# Stdlib modules the runner and its fixtures pull in on the side (tmp_path -> getpass -> pwd ...):
# a test rarely depends on them directly, so breaking them tends to break nothing.
PLUMBING = {
    "pwd", "grp", "getpass", "sysconfig", "tempfile", "shutil", "fnmatch", "glob", "stat", "errno",
    "posixpath", "genericpath", "linecache", "tokenize", "token", "traceback", "inspect", "dis",
    "opcode", "ast", "textwrap", "string", "bisect", "heapq", "weakref", "copy", "copyreg",
    "operator", "keyword", "reprlib", "contextlib", "signal", "selectors", "threading", "atexit",
    "gc", "time", "math", "itertools", "struct", "binascii", "base64", "select", "fcntl", "posix",
    "marshal", "builtins", "zipimport", "pathlib", "ntpath", "uuid", "platform", "unicodedata",
    "termios", "tty", "pty", "array", "zlib_ng",
}
# Plumbing that suites also call as a library (pathspec: 43 of 119 tests call `tempfile.mkdtemp` and
# `shutil.rmtree` themselves): the call map, which leaves out the runner's own calls, may aim at one
# of their functions; a module-level fault never aims at them.
LIBRARY_PLUMBING = {"tempfile", "shutil", "fnmatch", "glob", "textwrap", "string", "copy", "base64", "uuid", "platform"}
# Modules pytest imports lazily, at the first file it collects (the --doctest-modules collector, the
# unittest support, --pdb): that file's record has them first, yet breaking them breaks every file.
LAZY_RUNNER = {"doctest", "unittest", "pdb", "bdb", "cmd", "code", "codeop",
               # codecs pytest looks up when it escapes a test id or reports a failure (jmespath: the
               # `unicode_escape` codec broken under another fault "showed", and alone broke nothing)
               "encodings.unicode_escape", "encodings.raw_unicode_escape"}
CORE_EXECUTABLES = {"bash", "sh", "env", "dash", "python", "python3", "ls", "cat", "sleep"}


@dataclass(frozen=True)
class FaultPlan:
    """Concrete actions for one episode, the exploration that precedes them, and the repair."""

    family: str
    category: str
    target: str
    summary: str
    actions: tuple[RunCommand | SetEnv, ...]
    repair: str
    explore: str = ""
    objects: tuple[str, ...] = ()  # every module it rewrites, where more than its target (default: the target)

    @property
    def repair_lines(self) -> list[str]:
        """The repair's commands without the script preamble (`make` writes one), to build on."""
        return self.repair.split("set -e\n", 1)[-1].strip().splitlines()


@dataclass
class PlanContext:
    """What a family may read while planning: the summarised surface and the baseline."""

    surface: dict[str, Any]
    baseline: dict[str, Any] = field(default_factory=dict)
    network: bool = False  # the episode may reach the package index
    # this gold has its share of tasks that fail every test (`Guard.whole_full`): a family with a
    # module-level and a call-map plan takes the call-map one, which fails only the tests calling
    # one function (a module-level break of a suite in one or two files fails every test)
    aim_calls: bool = False


class FaultFamily:
    """Subclasses set the class attributes and implement `applicable` and `plan`."""

    name = ""
    category = ""
    description = ""
    keywords: tuple[str, ...] = ()
    breaks_all = False  # by nature every test fails (collection, the interpreter): last resort in a batch
    needs_network = False  # the plan installs from the package index (only where the curator allows it)
    # How the fault touches its target: "in_place" (moves, rewrites or deletes the target's own files)
    # or "beside" (adds something that hides it: a shadow, an import hook, a variable). Two layers
    # of a compound break may share a target unless both are in place (the second would undo or
    # overwrite the first, and *every layer matters* would refuse the task).
    layering = "in_place"
    # When the fault bites: "load" (the interpreter, pytest or an import fails: the test files may never
    # load) or "call" (one function's body: only a test that calls it fails). A "call" fault never
    # shows on top of a layer that keeps the test files from loading (unseen decorator, one test file:
    # later layers in function bodies tried on top of import failures, 3 to 8 of them an episode).
    acts = "load"
    # Families whose compound layers read alike to the near-duplicate guard: by default its category;
    # set where families of different categories leave the same kind of task (the project faults:
    # one project module loads without a function its source has).
    kin = ""

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        raise NotImplementedError

    def plan(self, ctx: PlanContext, rng: random.Random) -> FaultPlan:
        raise NotImplementedError

    def deep_plan(self, ctx: PlanContext, rng: random.Random) -> FaultPlan | None:
        """A multi-step variant for a layer of a compound break (each step its own RUN line, one
        repair for all), or None where the family has none (`plan` is used)."""
        return None

    def make(self, target: str, summary: str, actions: list, repair: list[str], explore: str = "",
             objects: tuple[str, ...] = ()) -> FaultPlan:
        script = "#!/bin/bash\nset -e\n" + "\n".join(repair) + "\n"
        return FaultPlan(self.name, self.category, target, summary, tuple(actions), script, explore, objects)


def stacked(fam: FaultFamily, *plans: FaultPlan) -> FaultPlan:
    """One plan of several (a multi-step variant): their steps in order (a step two of them share,
    once), one repair for all, named after the first; every object each rewrites, for `_fits`."""
    first = plans[0]
    actions = list(dict.fromkeys(a for p in plans for a in p.actions))
    repair = list(dict.fromkeys(line for p in plans for line in p.repair_lines))
    objects = tuple(dict.fromkeys(o for p in plans for o in (p.objects or (p.target,))))
    return fam.make(first.target, "; and ".join(p.summary for p in plans), actions, repair,
                    explore=first.explore, objects=objects)


def families() -> list[FaultFamily]:
    """Every registered family, imported on first use (each module exports `FAMILIES`)."""
    found: list[FaultFamily] = []
    for dotted in FAMILY_MODULES:
        module = importlib.import_module(dotted)
        found.extend(cls() for cls in module.FAMILIES)
    return found


def family(name: str) -> FaultFamily:
    for fam in families():
        if fam.name == name:
            return fam
    raise KeyError(name)


SCRIPTS = Path(__file__).parent / "scripts"
SHARED_IMPORT = "from ast_edit import "


def script_body(name: str) -> str:
    """`scripts/NAME` as the body of one `python -c` (no docstring in a RUN line), its import of the
    shared helpers replaced by `ast_edit.py`'s body (the container has no such module)."""
    def body(leaf: str) -> str:
        return (SCRIPTS / leaf).read_text().split('"""', 2)[2].lstrip()

    return _uncommented("".join(body("ast_edit.py") if line.startswith(SHARED_IMPORT) else line
                                for line in body(name).splitlines(keepends=True)))


def _uncommented(source: str) -> str:
    """`source` without its comment-only lines (found by `tokenize`, so a `#` inside a string stays):
    they are notes for whoever maintains the script, and each RUN line of a broken Dockerfile carried
    them, naming the studio and its modules."""
    lines = source.splitlines(keepends=True)
    drop = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT and not lines[tok.start[0] - 1][:tok.start[1]].strip()}
    return "".join(line for number, line in enumerate(lines, 1) if number not in drop)


NO_TARGET = 3  # a step's exit code (scripts/ast_edit.py): this environment has nothing the family aims at
NO_CACHE = "/nonexistent/studio-pycache"  # a pycache_prefix nothing is read from (and, with -B, written to)
RECOMPILE = ("import os, sys, _frozen_importlib_external as e; m, p, w = e._calc_mode, e._code_to_timestamp_pyc, "
             "e._write_atomic; [(os.makedirs(os.path.dirname(c), exist_ok=True), w(c, p(compile(open(f, 'rb').read(), f, "
             "'exec', dont_inherit=True), int(os.stat(f).st_mtime), os.stat(f).st_size), m(f))) for f, c in "
             "((f, os.path.join(os.path.dirname(f), '__pycache__', os.path.basename(f)[:-3] + '.' + "
             "sys.implementation.cache_tag + '.pyc')) for f in sys.argv[1:])]")  # one line: repairs go line by line
# What `py_compile.compile` does, without importing it or anything beyond the interpreter's own
# import machinery (`_frozen_importlib_external`, not even the `importlib` package): py_compile is a
# stdlib module like any other, a target of the stdlib families (simplejson: re-encoded as UTF-16 by
# one layer, it crashed the recompile in every other repair, and the oracle). The cache path is
# spelled out: `importlib.util.cache_from_source` honours the prefix set below.


def recompile(python: str, paths: str) -> str:
    """A repair line that rewrites the cached bytecode of `paths` (quoted, space-separated) from their
    sources, as `compileall -f` would, in an interpreter that reads no cached bytecode (`-X
    pycache_prefix`), runs no startup hook (`-I -S`) and imports no stdlib module that is not loaded
    at start-up (`RECOMPILE`): `python -m compileall` imports argparse, and where a stale cache of
    argparse or gettext is one of the faults, it crashed (semver: the undo failed, and later layers
    were tried on a broken base)."""
    return f"{python} -I -S -B -X pycache_prefix={NO_CACHE} -c {shlex.quote(RECOMPILE)} {paths}"


# ---- surface helpers -------------------------------------------------------------------------

def top(name: str) -> str:
    return name.split(".")[0]


def python_info(surface: dict[str, Any]) -> dict[str, Any]:
    return surface.get("python") or {}


def python_executable(surface: dict[str, Any]) -> str:
    """The gold's test interpreter (a fault's scripts run with it); plain `python` when unknown."""
    return python_info(surface).get("executable") or "python"


def site_packages(surface: dict[str, Any]) -> str:
    sp = python_info(surface).get("site_packages") or ""
    if isinstance(sp, list):
        sp = next((p for p in sp if p.endswith("site-packages")), sp[0] if sp else "")
    return sp


def py_version(surface: dict[str, Any]) -> str:
    parts = str(python_info(surface).get("version") or "3.11").split(".")
    return ".".join(parts[:2])


def file_modules(surface: dict[str, Any]) -> dict[str, set[str]]:
    """Top-level module names each test file loaded first or imports itself (as the plugin saw it)."""
    per_file = surface.get("per_file") or {}
    return {f: {top(m) for m in (v.get("modules") or [])} for f, v in per_file.items()}


def file_libs(surface: dict[str, Any]) -> dict[str, set[str]]:
    per_file = surface.get("per_file") or {}
    return {f: set(v.get("shared_libs") or []) for f, v in per_file.items()}


def used_by(mapping: dict[str, set[str]], item: str) -> list[str]:
    return sorted(f for f, items in mapping.items() if item in items)


class Ranked(list):
    """Targets best first; the first `preferred` are used by some but not all test files."""

    preferred: int | None = None


def rank_targets(candidates: list[str], mapping: dict[str, set[str]], called: dict[str, int] | None = None) -> Ranked:
    """Targets used by some but not all test files first (a task with both F2P and P2P); where every
    file uses each (a suite in one file), those some tests call into and others do not (`called`,
    the call map's modules: a test that never calls into one may pass without it) first."""
    total = len(mapping)
    used = [c for c in candidates if used_by(mapping, c)]
    partial = [c for c in used if len(used_by(mapping, c)) < total]
    if not partial and called:
        partial = [c for c in used if c in called]
    ranked = Ranked(partial + [c for c in used if c not in partial])
    ranked.preferred = len(partial)
    return ranked


def called_modules(surface: dict[str, Any]) -> dict[str, int]:
    """Top-level modules whose functions some tests call and others do not (the call map)."""
    return dict((surface.get("calls") or {}).get("modules") or {})


def pick(rng: random.Random, ranked: list[str]) -> str:
    """Seeded: one of the targets some but not all test files use where there are any, else any
    (every test file uses each: an alphabetical half would leave the same ones out in every
    episode); for a plain list, its better half."""
    preferred = getattr(ranked, "preferred", None)
    head = ranked[: max(1, (len(ranked) + 1) // 2)] if preferred is None else ranked[:preferred] or ranked
    return rng.choice(head)


def site_modules(surface: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Top-level third-party modules (not the project, not the runner) with a file on disk."""
    sp = site_packages(surface)
    project = {top(m.get("name", "")) for m in (surface.get("modules") or {}).get("project", [])}
    out: dict[str, dict[str, Any]] = {}
    for m in (surface.get("modules") or {}).get("site", []):
        name, path = m.get("name") or "", m.get("file") or ""
        if "." in name or not path or name in RUNNER_MODULES or name in project or name.startswith("_"):
            continue
        if sp and not path.startswith(sp + "/"):
            continue
        out[name] = m
    return out


def package_root(module: dict[str, Any]) -> str:
    """The directory of a package, or the file of a single-file module."""
    path = module["file"]
    if os.path.basename(path).startswith("__init__."):
        return os.path.dirname(path)
    return path


def startup_modules(surface: dict[str, Any]) -> set[str]:
    """Top-level names loaded before the first test file (runner, conftests): breaking one fails every
    test. Empty for a surface recorded before the plugin kept the set (its per-file modules were
    then first imports only, never start-up ones)."""
    return {top(n) for n in (surface.get("modules") or {}).get("startup") or []}


def stdlib_modules(surface: dict[str, Any]) -> set[str]:
    names = {top(n) for n in (surface.get("modules") or {}).get("stdlib", [])}
    names &= set(sys.stdlib_module_names)
    skip = RUNNER_MODULES | PLUMBING | startup_modules(surface)
    return {n for n in names if n not in skip and not n.startswith("_")}


def used_modules(surface: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for names in file_modules(surface).values():
        found |= names
    return found


SONAME = re.compile(r"^(lib[^/]*?\.so(?:\.\d+)?)")
SYSTEM_LIB_DIRS = ("/usr/lib/", "/lib/", "/usr/lib64/", "/lib64/", "/usr/local/lib/")
CORE_LIBS = ("libc.so", "libm.so", "ld-linux", "libpthread", "libdl.so", "libpython", "librt.so",
             "libgcc_s", "libstdc++", "libtinfo", "libutil", "libresolv")


def system_libs(surface: dict[str, Any]) -> dict[str, str]:
    """soname -> real path for system shared libraries the tests load (not extension modules)."""
    paths = {lib.get("path", "") for lib in surface.get("shared_libs") or []}
    for libs in file_libs(surface).values():
        paths |= libs
    out: dict[str, str] = {}
    for path in sorted(paths):
        base = os.path.basename(path)
        m = SONAME.match(base)
        if not m or "python3" in path or "site-packages" in path or "lib-dynload" in path:
            continue
        if not path.startswith(SYSTEM_LIB_DIRS) or base.startswith(CORE_LIBS):
            continue
        out.setdefault(m.group(1), path)
    return out


def executables(surface: dict[str, Any]) -> dict[str, str]:
    """name -> absolute path for programs the tests started (never the shell or the interpreter)."""
    out: dict[str, str] = {}
    for e in surface.get("executables") or []:
        name, path = e.get("name") or "", e.get("path") or ""
        base = os.path.basename(name)
        if not base or base in CORE_EXECUTABLES or base.startswith("python"):
            continue
        if not path and "/" in name:
            path = name
        if path.startswith("/"):
            out[base] = path
    return out


def test_files(surface: dict[str, Any]) -> list[str]:
    return sorted(surface.get("test_files") or (surface.get("per_file") or {}).keys())
