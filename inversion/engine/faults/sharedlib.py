"""Shared-library faults: a damaged copy of a library the tests load shadows the good one.

The copy sits in a directory put first on the loader path (LD_LIBRARY_PATH), as a vendored or
half-copied library would; the repair removes the bad copy, which needs no network.
"""

from __future__ import annotations

import random
import shlex
from typing import Any

from inversion.engine.agents.base import RunCommand, SetEnv
from inversion.engine.faults import base

VENDOR_DIR = "/opt/vendor/lib"


class _ShadowLib(base.FaultFamily):
    category = "shared_library"
    keywords = ("shared library", "dynamic linking", "linker", "ld.so", ".so", "elf", "library", "corrupt")
    damage = ""

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(self._ranked(surface))

    def _ranked(self, surface: dict[str, Any]) -> list[str]:
        libs = base.system_libs(surface)
        mapping = {f: {s for s, p in libs.items() if p in v} for f, v in base.file_libs(surface).items()}
        ranked = base.rank_targets(sorted(libs), mapping)
        return ranked or sorted(libs)

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        soname = base.pick(rng, self._ranked(ctx.surface))
        path = base.system_libs(ctx.surface)[soname]
        bad = f"{VENDOR_DIR}/{soname}"
        copy = f"mkdir -p {VENDOR_DIR} && cp -L {shlex.quote(path)} {shlex.quote(bad)} && {self.damage.format(f=shlex.quote(bad))}"
        return self.make(
            soname,
            f"a damaged copy of {soname} in {VENDOR_DIR} shadows {path} via LD_LIBRARY_PATH",
            [RunCommand(copy), SetEnv("LD_LIBRARY_PATH", VENDOR_DIR)],
            [f"rm -f {shlex.quote(bad)}"],
            explore=f"ls -la {shlex.quote(path)}",
        )


class ElfHeaderShadow(_ShadowLib):
    name = "so_elf_header_shadow"
    description = "Copy a loaded system library onto LD_LIBRARY_PATH and zero its ELF header."
    damage = "dd if=/dev/zero of={f} bs=64 count=1 conv=notrunc status=none"


class TruncatedShadow(_ShadowLib):
    name = "so_truncated_shadow"
    description = "Copy a loaded system library onto LD_LIBRARY_PATH, truncated to its first 512 bytes."
    damage = "truncate -s 512 {f}"


FAMILIES = [ElfHeaderShadow, TruncatedShadow]
