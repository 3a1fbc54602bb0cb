"""Where the standard-library families aim: stdlib modules and C extensions some test files use and the
runner does not load at start-up, read from the gold's per-file import record.

A submodule of a package the runner loads (`encodings.punycode` under `encodings`, which every run
imports) is aimed at by its full name where the record shows some test files load it and start-up
does not: a codec looked up lazily fails only the tests that encode with it.
"""

from __future__ import annotations

import random
import re
import sys
from typing import Any

from inversion.engine.episode.faults import base

# C extension in lib-dynload -> the stdlib module that cannot import without it.
HARD_EXTENSIONS = {
    "_sqlite3": "sqlite3", "_ssl": "ssl", "_bz2": "bz2", "_lzma": "lzma", "_ctypes": "ctypes",
    "_contextvars": "contextvars", "_crypt": "crypt", "_curses": "curses", "_dbm": "dbm",
    "_gdbm": "dbm", "_lsprof": "cProfile", "_multiprocessing": "multiprocessing", "mmap": "mmap",
    "resource": "resource", "audioop": "audioop", "nis": "nis", "_posixshmem": "multiprocessing",
}  # fmt: skip
DYNLOAD = re.compile(r"/lib-dynload/([A-Za-z0-9_]+)\.[^/]*\.so$")


def stdlib_files(surface: dict[str, Any]) -> dict[str, str]:
    """Stdlib module name -> file, from the surface's record (and lib-dynload paths it loaded)."""
    out: dict[str, str] = {}
    paths = {lib.get("path") or "" for lib in surface.get("shared_libs") or []}
    for libs in base.file_libs(surface).values():
        paths |= libs
    for path in sorted(paths):
        m = DYNLOAD.search(path)
        if m:
            out[m.group(1)] = path
    out.update((surface.get("modules") or {}).get("stdlib_files") or {})
    return out


def startup_names(surface: dict[str, Any]) -> set[str]:
    """Full names of the modules loaded before the first test file (`encodings.utf_8`, `json`)."""
    return set((surface.get("modules") or {}).get("startup") or [])


def _file_names(surface: dict[str, Any]) -> dict[str, set[str]]:
    """Each test file's module names, full and top-level (`encodings.punycode` and `encodings`)."""
    per_file = surface.get("per_file") or {}
    return {f: {n for m in (v.get("modules") or []) for n in (m, base.top(m))} for f, v in per_file.items()}


def _usage(surface: dict[str, Any], names: dict[str, set[str]]) -> list[str]:
    """Targets (keys of `names`, each with the module names that mean "uses it") some but not all
    test files use; never one loaded at start-up, by the runner or a fixture's plumbing."""
    skip = base.startup_modules(surface) | startup_names(surface) | base.RUNNER_MODULES | base.PLUMBING | base.LAZY_RUNNER
    fm = _file_names(surface)
    mapping = {f: {t for t, aliases in names.items() if aliases & mods} for f, mods in fm.items()}
    ranked = base.rank_targets(sorted(t for t, aliases in names.items() if not aliases & skip), mapping)
    return [t for t in ranked if len(base.used_by(mapping, t)) < len(mapping)]


def aliases(surface: dict[str, Any], name: str) -> set[str]:
    """The names that mean a test file uses stdlib module `name`: its top-level package, or where the
    runner loads that package at start-up (`encodings`), the submodule's own full name."""
    top = base.top(name)
    at_start = top in base.RUNNER_MODULES or top in base.startup_modules(surface)
    return {name} if "." in name and at_start and top not in base.PLUMBING | base.LAZY_RUNNER else {top}


def choose(rng: random.Random, targets: list[str]) -> str:
    """Any of them (each already leaves some test files passing), a package first, so the 28 files
    of `asyncio` do not crowd out `ssl`."""
    package = rng.choice(sorted({base.top(t) for t in targets}))
    return rng.choice([t for t in targets if base.top(t) == package])


def extensions(surface: dict[str, Any]) -> list[str]:
    files = stdlib_files(surface)
    names = {e: {e, facade} for e, facade in HARD_EXTENSIONS.items() if files.get(e, "").endswith(".so")}
    return _usage(surface, names)


def py_files(surface: dict[str, Any], *, init: bool) -> list[str]:
    """Stdlib source files (package `__init__.py` files when `init`, else modules) of modules some
    test files use, by module name."""
    files, prefix = stdlib_files(surface), base.python_info(surface).get("base_prefix") or "/usr"
    names = {}
    for name, path in files.items():
        if not path.endswith(".py") or not path.startswith(f"{prefix}/lib/python"):
            continue
        if path.endswith("/__init__.py") != init or "site-packages" in path or "dist-packages" in path:
            continue
        if base.top(name) not in sys.stdlib_module_names or base.top(name).startswith("_"):
            continue  # _sysconfigdata_*, private helpers: plumbing, not what a test uses
        names[name] = aliases(surface, name)
    return _usage(surface, names)
