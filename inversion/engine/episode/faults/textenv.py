"""Faults in what the interpreter reads about text and warnings from the system around it.

- `locale_codeset_mismatch`: a locale named `en_US.UTF-8` compiled with the ASCII charmap (a botched
  `localedef`) and `LC_CTYPE` pointing at it: Python's preferred encoding becomes ASCII, so only the
  tests that write or read non-ASCII text without an explicit encoding fail. Repair: compile the
  locale again with the UTF-8 charmap (the ENV line stays; it names a good locale then).
- `warnings_policy_module`: `PYTHONWARNINGS=error::<module>.StrictWarning`, where a "CI policy"
  module in the interpreter's stdlib directory binds `StrictWarning` to `Warning` itself: every
  warning becomes an exception, so tests that touch deprecated code fail. Repair: remove the module
  (and its bytecode); the interpreter then ignores the option.
- `mime_types_override`: a block appended to `/etc/mime.types` (the stdlib `mimetypes` reads it and
  lets it win) maps common extensions to `application/octet-stream`. Repair: cut the block.
"""

from __future__ import annotations

import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand, SetEnv
from inversion.engine.episode.faults import base

LOCALE = "en_US.UTF-8"
LOCALE_GEN = "/etc/locale.gen"
MIME_MARKER = "# --- legacy app server types ---"
MIME_BLOCK = ("application/octet-stream json csv svg xml js css html htm txt png jpg jpeg gif pdf zip yaml yml md\n"
              "text/x-legacy-data dat")


class LocaleCodesetMismatch(base.FaultFamily):
    name = "locale_codeset_mismatch"
    layering = "beside"
    category = "encoding"
    description = "A UTF-8-named locale compiled with the ASCII charmap, selected by LC_CTYPE."
    keywords = ("encoding", "unicode", "utf-8", "non-ascii", "charset", "locale", "text", "codeset")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(base.test_files(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self.make(
            LOCALE,
            f"{LOCALE} compiled with the ANSI_X3.4-1968 charmap and LC_CTYPE={LOCALE}",
            [RunCommand(f"localedef -i en_US -c -f ANSI_X3.4-1968 {LOCALE} || true"),
             SetEnv("LC_CTYPE", LOCALE)],
            [f"localedef -i en_US -c -f UTF-8 {LOCALE} || true",
             f"test \"$(LC_ALL={LOCALE} locale charmap)\" = UTF-8"],
            explore="locale -a",
        )

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """First the provisioning line that caused it: `/etc/locale.gen` lists the locale with the
        ASCII charmap, so `locale-gen`, the usual cure, compiles the same wrong locale again; the
        repair drops that line too."""
        plan = self.plan(ctx, rng)
        line = f"{LOCALE} ANSI_X3.4-1968"
        return self.make(
            plan.target,
            f"/etc/locale.gen lists {line}; {plan.summary}",
            [RunCommand(f"echo {shlex.quote(line)} >> {LOCALE_GEN}"), *plan.actions],
            [f"sed -i {shlex.quote(f'/^{line}$/d')} {LOCALE_GEN}", *plan.repair_lines],
            explore=f"{plan.explore}; grep -v '^#' {LOCALE_GEN}",
        )


class WarningsPolicyModule(base.FaultFamily):
    name = "warnings_policy_module"
    layering = "beside"
    category = "warnings"
    description = "PYTHONWARNINGS turns every warning into an error through a policy module aliasing Warning."
    keywords = ("warnings", "warning", "deprecation", "pythonwarnings", "error", "strict", "environment")
    module = "ci_policy"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(base.test_files(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        stdlib = f"{base.python_info(ctx.surface).get('base_prefix') or '/usr'}/lib/python{base.py_version(ctx.surface)}"
        path = f"{stdlib}/{self.module}.py"
        body = '"""CI warning policy: fail fast on anything the interpreter warns about."""\nStrictWarning = Warning\n'
        return self.make(
            "PYTHONWARNINGS",
            f"PYTHONWARNINGS=error::{self.module}.StrictWarning with {path} aliasing Warning",
            [RunCommand(f"printf %s {shlex.quote(body)} > {path}"),
             SetEnv("PYTHONWARNINGS", f"error::{self.module}.StrictWarning")],
            [f"rm -f {path} {stdlib}/__pycache__/{self.module}.*.pyc"],
            explore="env | sort",
        )


    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """Three steps: the policy module, its bytecode, then the variable."""
        plan = self.plan(ctx, rng)
        python = base.python_executable(ctx.surface)
        module = plan.actions[0].command.rsplit("> ", 1)[1]
        return self.make(plan.target, plan.summary, [plan.actions[0], RunCommand(f"{python} -m py_compile {module}"),
                                                     plan.actions[1]],
                         plan.repair_lines, explore=plan.explore)


class MimeTypesOverride(base.FaultFamily):
    name = "mime_types_override"
    category = "system_data"
    description = "A block appended to /etc/mime.types maps common extensions to application/octet-stream."
    keywords = ("mime", "mimetypes", "content type", "system data", "/etc/mime.types")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return "mimetypes" in base.used_modules(surface)

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        block = f"\n{MIME_MARKER}\n{MIME_BLOCK}\n"
        return self.make(
            "mime.types",
            "/etc/mime.types ends with a block mapping json, csv, html, png ... to application/octet-stream",
            [RunCommand(f"test -f /etc/mime.types && printf %s {shlex.quote(block)} >> /etc/mime.types")],
            [f"sed -i '/^{MIME_MARKER}$/,$d' /etc/mime.types"],
            explore="ls -la /etc/mime.types",
        )


    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """Two steps: the block in /etc/mime.types and the same block in /etc/apache2/mime.types, which
        `mimetypes` reads later (repairing /etc/mime.types alone changes nothing)."""
        plan = self.plan(ctx, rng)
        block = f"\n{MIME_MARKER}\n{MIME_BLOCK}\n"
        other = "/etc/apache2/mime.types"
        return self.make(
            plan.target,
            f"{plan.summary}; {other} repeats it",
            [plan.actions[0], RunCommand(f"mkdir -p /etc/apache2 && printf %s {shlex.quote(block)} >> {other}")],
            [f"sed -i '/^{MIME_MARKER}$/,$d' /etc/mime.types {other}", f"[ -n \"$(tr -d '[:space:]' < {other})\" ] || rm -f {other}",
             "rmdir --ignore-fail-on-non-empty /etc/apache2"],
            explore=plan.explore,
        )


FAMILIES = [LocaleCodesetMismatch, WarningsPolicyModule, MimeTypesOverride]
