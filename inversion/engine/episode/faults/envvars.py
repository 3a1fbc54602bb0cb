"""Environment-variable faults. A script cannot unset an ENV line, so each variable points at
something on disk that is wrong, and the repair fixes that thing (a stub, a locale, a tz tree,
a CA bundle)."""

from __future__ import annotations

import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand, SetEnv
from inversion.engine.episode.faults import base
from inversion.engine.episode.faults.calls import (
    candidate_modules,
    copy_command,
    function_turn,
    one_module,
    shadowable,
)
from inversion.engine.episode.faults.pydeps import site_ranked


def _uses(surface: dict[str, Any], module: str) -> bool:
    return module in base.used_modules(surface) or module in base.stdlib_modules(surface)


class PythonpathStub(base.FaultFamily):
    name = "pythonpath_stub"
    layering = "beside"
    category = "environment"
    description = ("PYTHONPATH names a shared directory holding an empty stub of an imported package, or a copy "
                   "of a stdlib module with one function some tests call stubbed out.")
    keywords = ("environment", "env", "variable", "pythonpath", "sys.path", "shadow")
    shared = "/opt/shared/python"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(site_ranked(surface) or shadowable(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        """An empty stub of an installed package the tests import; where none is (only the standard
        library) or half of the time, a copy of a stdlib module from another release whose one function
        some tests call is a stub (the call map's), so only those tests fail."""
        if function_turn(ctx, rng, shadowable(ctx.surface), site_ranked(ctx.surface)):
            return self._copied(ctx, rng)
        name = base.pick(rng, site_ranked(ctx.surface))
        stub = f"{self.shared}/{name}.py"
        return self.make(
            name,
            f"PYTHONPATH={self.shared} with an empty {name}.py there",
            [RunCommand(f"mkdir -p {self.shared} && echo '\"\"\"Shared stub.\"\"\"' > {stub}"),
             SetEnv("PYTHONPATH", self.shared)],
            [f"rm -f {stub}"],
            explore="env | sort",
        )

    def _copied(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        chosen = one_module(rng, ctx.surface, shadowable(ctx.surface))
        module = chosen[0]["module"]
        return self.make(
            module,
            f"PYTHONPATH={self.shared}, where a copy of {module} (or a module beside it) from another release "
            "has one function some tests call stubbed out",
            [RunCommand(copy_command(base.python_executable(ctx.surface), "shadowcopy", self.shared, chosen)),
             SetEnv("PYTHONPATH", self.shared)],
            [f"rm -rf {self.shared}"],
            explore="env | sort",
            objects=candidate_modules([chosen]),
        )

    def deep_plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan | None:
        """Three steps: the stub, the variable, and a `.pth` naming the shared dir as well (so the
        stub still wins where PYTHONPATH is cleared)."""
        sp = base.site_packages(ctx.surface)
        if not sp:
            return None
        plan = self.plan(ctx, rng)
        pth = f"{sp}/shared-python.pth"
        return self.make(
            plan.target,
            f"{plan.summary}; {pth} names that directory too",
            [*plan.actions, RunCommand(f"echo {self.shared} > {shlex.quote(pth)}")],
            [*plan.repair_lines, f"rm -f {shlex.quote(pth)}"],
            explore=plan.explore,
        )


class LocaleMissing(base.FaultFamily):
    name = "locale_missing"
    layering = "beside"
    category = "locale"
    description = "LC_ALL names a locale that was never generated in the image."
    keywords = ("locale", "encoding", "lc_all", "lang", "utf-8", "i18n", "environment")
    locale = "de_DE.UTF-8"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return _uses(surface, "locale")

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        lang = self.locale.split(".")[0]
        return self.make(
            self.locale,
            f"LC_ALL={self.locale}, a locale not generated in the image",
            [SetEnv("LC_ALL", self.locale)],
            [f"localedef -i {lang} -c -f UTF-8 {self.locale} || true",
             f"locale -a | grep -qi '^{lang}.utf-\\?8$'"],
            explore="locale -a",
        )


class TzPathEnv(base.FaultFamily):
    name = "tz_path_env"
    layering = "beside"
    category = "timezone"
    description = "PYTHONTZPATH points zoneinfo at an empty zone directory."
    keywords = ("timezone", "time zone", "tz", "zoneinfo", "tzdata", "time")
    tzdir = "/usr/local/share/zoneinfo"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return _uses(surface, "zoneinfo")

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        return self.make(
            "zoneinfo",
            f"PYTHONTZPATH={self.tzdir}, an empty directory",
            [RunCommand(f"mkdir -p {self.tzdir}"), SetEnv("PYTHONTZPATH", self.tzdir)],
            [f"rm -rf {self.tzdir}", f"ln -s /usr/share/zoneinfo {self.tzdir}"],
            explore="ls /usr/share/zoneinfo | head",
        )


class CaBundleEnv(base.FaultFamily):
    name = "ca_bundle_env"
    layering = "beside"
    category = "certificates"
    description = "SSL_CERT_FILE points at a CA bundle file holding no certificates."
    keywords = ("certificate", "ca", "ssl", "tls", "https", "trust", "bundle")
    bundle = "/etc/ssl/certs/corp-ca-bundle.pem"

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        """A test file loads ssl itself: not through asyncio (a transport import that never
        verifies) and not beside certifi (which ignores SSL_CERT_FILE)."""
        return any("ssl" in mods and not mods & {"asyncio", "certifi"}
                   for mods in base.file_modules(surface).values())

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        text = "# corporate CA bundle: populated at provisioning time\n"
        return self.make(
            "ssl",
            f"SSL_CERT_FILE={self.bundle} and SSL_CERT_DIR=/etc/ssl/corp, both without certificates",
            [RunCommand(f"mkdir -p /etc/ssl/corp && printf %s {shlex.quote(text)} > {self.bundle}"),
             SetEnv("SSL_CERT_FILE", self.bundle), SetEnv("SSL_CERT_DIR", "/etc/ssl/corp")],
            [f"cp /etc/ssl/certs/ca-certificates.crt {self.bundle}",
             "rm -rf /etc/ssl/corp && ln -s /etc/ssl/certs /etc/ssl/corp"],
            explore="ls /etc/ssl/certs | head",
        )


FAMILIES = [PythonpathStub, LocaleMissing, TzPathEnv, CaBundleEnv]
