"""Standard-library modules broken by tools outside Python, not by an edit to their code.

Aimed like the other stdlib families (a module some test files use and start-up does not load, see
`stdlib_targets`), so those files fail and the rest pass. Modelled on real incidents:

- `stdlib_dpkg_diverted`: a local `dpkg-divert --rename` (a site customisation that meant to install
  its own copy, then was dropped) moved the module to `.distrib`; Python reports a stdlib module as
  missing. Repair: remove the diversion with dpkg, which moves the file back.
- `stdlib_source_reencoded`: a bulk conversion ("save as Unicode" on a shared tree, an `iconv` run
  with the wrong target) re-encoded the module as UTF-16; compiling it fails on null bytes, and
  nothing names the encoding. Repair: convert it back (the bytes are the gold's again).
- `stdlib_zip_shadow`: an embeddable distribution's `pythonXY.zip` unpacked into the prefix, in the
  slot `sys.path` lists before the stdlib directory, with bytecode of an emptied module (the
  multi-step variant: of two or three modules other test files use, an entry each). Repair: remove
  the zip.
"""

from __future__ import annotations

import os
import random
import shlex
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
    sent_files,
    shadowable,
)
from inversion.engine.episode.faults.stdlib import PyStaleOverride, TwoTargets
from inversion.engine.episode.faults.stdlib_targets import choose, extensions, py_files, stdlib_files


class _Aimed(base.FaultFamily):
    """A family that applies wherever its `targets` list one module, and aims at one of them."""

    @staticmethod
    def targets(surface: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self.targets(surface))

    def aim(self, ctx: base.PlanContext, rng: random.Random) -> tuple[str, str]:
        """(module name, its file), chosen as every stdlib family chooses (`choose`)."""
        name = choose(rng, self.targets(ctx.surface))
        return name, stdlib_files(ctx.surface)[name]


class DpkgDiverted(TwoTargets, _Aimed):
    name = "stdlib_dpkg_diverted"
    category = "package_manager"
    description = ("A local dpkg diversion (a customisation never finished) renamed a stdlib module some "
                   "tests use to .distrib: the module is missing, or in its place is the customised copy, "
                   "from another release, with one function some tests call stubbed out.")
    keywords = ("dpkg", "dpkg-divert", "diversion", "package manager", "stdlib", "missing module", "debian")

    @staticmethod
    def targets(surface: dict[str, Any]) -> list[str]:
        return py_files(surface, init=False) + extensions(surface)

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self.targets(surface) or function_targets(surface, "stdlib"))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """The module moved aside; where no module is some test files use and others not (a suite in
        one file) or half of the time, the customised copy installed in its place (`_customised`)."""
        if function_turn(ctx, rng, function_targets(ctx.surface, "stdlib"), self.targets(ctx.surface)):
            return self._customised(ctx, rng)
        return self._moved(ctx, rng)

    def _moved(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name, path = self.aim(ctx, rng)
        f, moved = shlex.quote(path), shlex.quote(path + ".distrib")
        return self.make(
            name,
            f"a local dpkg diversion renamed {path} to {os.path.basename(path)}.distrib",
            [RunCommand(f"dpkg-divert --local --rename --divert {moved} --add {f}")],
            # gone already where a customised copy's repair in the same layer removed this diversion
            [f"[ ! -e {moved} ] || dpkg-divert --local --rename --remove {f}"],
            explore="dpkg-divert --list",
        )

    def _customised(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """Two steps, as a site customisation does it: a copy of a module whose one function some
        tests call is a stub (its other functions work, so only those tests fail), staged; then a
        diversion moves the packaged file to `.distrib` and the copy takes its place. Repair: remove
        the copy and the diversion (dpkg moves the packaged file back), and recompile."""
        chosen = one_module(rng, ctx.surface, function_targets(ctx.surface, "stdlib"))
        python, files = base.python_executable(ctx.surface), sent_files(chosen)
        stage = shlex.quote(STAGE)
        place = (f'for f in {files}; do if [ -f {stage}"$f" ]; then dpkg-divert --local --rename --divert "$f.distrib" '
                 f'--add "$f" && mv {stage}"$f" "$f" || exit 1; fi; done; rm -rf {stage}')
        return self.make(
            chosen[0]["module"],
            f"a local dpkg diversion moved {chosen[0]['file']} (or a module beside it) to .distrib and put a "
            "customised copy from another release in its place, one function some tests call stubbed out",
            [RunCommand(copy_command(python, "stagecopy", STAGE, chosen)), RunCommand(place)],
            [f'for f in {files}; do if [ -e "$f.distrib" ]; then rm -f "$f" && dpkg-divert --local --rename --remove "$f"; fi; done',
             base.recompile(python, files)],
            explore="dpkg-divert --list",
            objects=candidate_modules([chosen]),
        )

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Two modules moved where the gold has two; else the customisation's second step, as `dash`
        does for /bin/sh: a link in the module's place to the replacement, from a package never
        installed. The import now fails on a dangling link, and dpkg refuses to remove the diversion
        while the link is there: the repair takes both steps, in order. Where no module can be moved
        (a suite in one file), customised copies of two modules, or none (one is two steps already)."""
        if not self.targets(ctx.surface):
            rows = function_targets(ctx.surface, "stdlib")
            return self._spread(ctx, rng, self._customised) if module_count(rows) >= 2 else None
        two = self._spread(ctx, rng, self._moved)
        if two is not None:
            return two
        plan = self._moved(ctx, rng)
        path = stdlib_files(ctx.surface)[plan.target]
        lib = path.split("/lib/", 1)[-1]  # python3.11/encodings/punycode.py
        f, link = shlex.quote(path), shlex.quote(f"/usr/local/share/site-custom/{lib}")
        return self.make(plan.target, f"{plan.summary}, and a link in its place points to a replacement never installed",
                         [*plan.actions, RunCommand(f"ln -s {link} {f}")],
                         [f"if [ -L {f} ]; then rm -f {f}; fi", *plan.repair_lines], explore=plan.explore)


STAGE = "/var/tmp/site-custom"  # where a customised copy waits for its diversion


class SourceReencoded(TwoTargets, _Aimed):
    name = "stdlib_source_reencoded"
    category = "source_encoding"
    description = ("A stdlib module some tests use re-encoded as UTF-16 by a bulk conversion: it no longer "
                   "compiles (null bytes).")
    keywords = ("encoding", "utf-16", "iconv", "null bytes", "stdlib", "source", "conversion")

    @staticmethod
    def targets(surface: dict[str, Any]) -> list[str]:
        return py_files(surface, init=False) + py_files(surface, init=True)

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name, path = self.aim(ctx, rng)
        f, tmp = shlex.quote(path), shlex.quote(f"/tmp/.{os.path.basename(path)}.conv")
        python = base.python_executable(ctx.surface)

        def convert(src: str, dst: str) -> str:  # through a copy, so the file keeps its inode and mode
            return f"iconv -f {src} -t {dst} {f} > {tmp} && cat {tmp} > {f} && rm -f {tmp}"

        return self.make(
            name,
            f"{path} was re-encoded as UTF-16",
            [RunCommand(convert("UTF-8", "UTF-16"))],
            [convert("UTF-16", "UTF-8"), base.recompile(python, f)],
            explore=f"ls -la {shlex.quote(os.path.dirname(path))}",
        )


# A zip whose NAME.pyc (or NAME/__init__.pyc) is bytecode of an empty module, as an embeddable
# distribution ships its stdlib (sourceless, in the zip named after the interpreter).
ZIP_SCRIPT = (
    "import importlib.util, marshal, sys, zipfile\n"
    "zip_path, entry = sys.argv[1], sys.argv[2]\n"
    "code = compile('', entry[:-1], 'exec')\n"
    "data = importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)\n"
    "with zipfile.ZipFile(zip_path, 'a' if zipfile.is_zipfile(zip_path) else 'w') as z:\n"
    "    z.writestr(entry, data)\n"
)


def zip_slot(surface: dict[str, Any]) -> str:
    """The zip `sys.path` lists first for the stdlib: `<base prefix>/lib/python3X.zip`."""
    prefix = base.python_info(surface).get("base_prefix") or "/usr"
    return f"{prefix}/lib/python{base.py_version(surface).replace('.', '')}.zip"


class ZipShadow(TwoTargets, _Aimed):
    name = "stdlib_zip_shadow"
    category = "zip_import"
    kin = "module_shadowing"  # an earlier sys.path entry hides the module, as the override dir does
    layering = "beside"
    description = ("An embeddable distribution's pythonXY.zip, unpacked into the prefix ahead of the stdlib "
                   "directory on sys.path, holds bytecode of an emptied stdlib module some tests use, or of one "
                   "from another release whose one function some tests call is a stub.")
    keywords = ("zip", "zipimport", "embeddable", "sys.path", "shadow", "stdlib", "bytecode")

    @staticmethod
    def targets(surface: dict[str, Any]) -> list[str]:
        """Top-level modules and packages (a zip entry cannot shadow a submodule of a package found on disk)."""
        packages = [n for n in py_files(surface, init=True) if "." not in n]
        return PyStaleOverride.singles(surface) + packages

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self.targets(surface) or shadowable(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """An emptied module some test files use; where none is (a suite in one file: every test
        imports it) or half of the time, a module whose one function some tests call is a stub."""
        if function_turn(ctx, rng, shadowable(ctx.surface), self.targets(ctx.surface)):
            return self._stubbed(ctx, rng)
        return self._emptied(ctx, rng)

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Entries for two or three modules, of the kind the gold has (emptied where some test files
        use a module, else stubbed), one step each."""
        if self.targets(ctx.surface):
            return self._spread(ctx, rng, self._emptied)
        return self._spread(ctx, rng, self._stubbed) if module_count(shadowable(ctx.surface)) >= 2 else None

    def _emptied(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name, path = self.aim(ctx, rng)
        package = path.endswith("/__init__.py")
        entry = f"{name}/__init__.pyc" if package else f"{name}.pyc"
        slot, python = zip_slot(ctx.surface), base.python_executable(ctx.surface)
        return self.make(
            name,
            f"{slot} holds {entry}, bytecode of an empty module, ahead of the stdlib directory on sys.path",
            [RunCommand(f"{python} -c {shlex.quote(ZIP_SCRIPT)} {shlex.quote(slot)} {shlex.quote(entry)}")],
            [f"rm -f {shlex.quote(slot)}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(slot))}",
        )

    def _stubbed(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        chosen = one_module(rng, ctx.surface, shadowable(ctx.surface))
        slot, python = zip_slot(ctx.surface), base.python_executable(ctx.surface)
        return self.make(
            chosen[0]["module"],
            f"{slot}, ahead of the stdlib directory on sys.path, holds bytecode of {chosen[0]['module']} (or a "
            "module beside it) from another release, one function some tests call a stub",
            [RunCommand(copy_command(python, "zipcopy", slot, chosen))],
            [f"rm -f {shlex.quote(slot)}"],
            explore=f"ls -la {shlex.quote(os.path.dirname(slot))}",
            objects=candidate_modules([chosen]),
        )


FAMILIES = [DpkgDiverted, SourceReencoded, ZipShadow]
