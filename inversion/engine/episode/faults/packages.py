"""A dependency at an incompatible version, installed from the package index (network episodes only).

An old major release of a package the tests import is installed with pip into a compat directory
that `PYTHONPATH` puts ahead of site-packages, as an ops "legacy libs" directory would: the tests
import the old API. The exact pip command is a kept step, so the rebuilt image (and the exported
Dockerfile, built with network) reproduces it. The repair is offline: remove the compat directory
(the gold's own version is still in site-packages); the ENV line then names a missing directory,
which Python ignores.
"""

from __future__ import annotations

import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand, SetEnv
from inversion.engine.episode.faults import base

COMPAT = "/opt/legacy-libs/python"


def _older(version: str) -> str | None:
    """A requirement for an incompatible older release: below this major (or this minor for 0.x)."""
    parts = [p for p in str(version or "").split(".") if p.isdigit()]
    if not parts:
        return None
    major = int(parts[0])
    if major >= 1:
        return f"<{major}"
    if len(parts) > 1 and int(parts[1]) > 0:
        return f"<0.{parts[1]}"
    return None


def candidates(surface: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(module, distribution, requirement) for imported site packages with a known version, partial users first."""
    mods = base.site_modules(surface)
    ranked = base.rank_targets(sorted(mods), base.file_modules(surface), base.called_modules(surface))
    out = []
    for name in ranked:
        dist, older = mods[name].get("dist"), _older(mods[name].get("version") or "")
        if dist and older:
            out.append((name, dist, f"{dist}{older}"))
    return out


class PipIncompatibleVersion(base.FaultFamily):
    name = "pip_incompatible_version"
    category = "package_version"
    description = "An old major release of an imported package, pip-installed into a legacy dir first on PYTHONPATH."
    keywords = ("version", "incompatible", "downgrade", "pip", "dependency", "package", "pin", "upgrade")
    needs_network = True

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(candidates(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        module, dist, req = base.pick(rng, candidates(ctx.surface))
        python = base.python_executable(ctx.surface)
        cmd = (f"{python} -m pip install --quiet --no-deps --only-binary :all: --target {COMPAT} "
               f"{shlex.quote(req)}")
        return self.make(
            module,
            f"{req} installed into {COMPAT}, first on PYTHONPATH",
            [RunCommand(cmd), SetEnv("PYTHONPATH", COMPAT)],
            [f"rm -rf {COMPAT.rsplit('/', 1)[0]}"],
            explore=f"{python} -m pip list 2>/dev/null | head -40",
        )


FAMILIES = [PipIncompatibleVersion]
