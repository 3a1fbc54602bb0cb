"""Shared-library faults: the SONAME link of a library the tests load points at a damaged copy.

A damaged copy on LD_LIBRARY_PATH does not work: glibc skips an invalid library there and keeps
searching. Retargeting the SONAME itself (the `libfoo.so.N` the loader resolves through
ld.so.cache) does break the load, as a botched manual upgrade would. The good file stays on disk,
so the repair (point the link back, drop the copy) needs no network.
"""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

SUFFIX = ".part"  # a download an update script linked before it was whole (was ".studio": the name gave it away)
# The interpreter links these itself (`ldd python3.11`): breaking them breaks every test.
INTERPRETER_LIBS = ("libz.so", "libexpat.so")


def ranked_libs(surface: dict[str, Any]) -> list[str]:
    """Sonames a test file loaded on its own (the runner had not loaded them before), partial
    users first. A library loaded at interpreter or runner start-up is never a target."""
    libs = {s: p for s, p in base.system_libs(surface).items() if not s.startswith(INTERPRETER_LIBS)}
    mapping = {f: {s for s, p in libs.items() if p in v} for f, v in base.file_libs(surface).items()}
    return base.rank_targets(sorted(libs), mapping)


class _SonameRetarget(base.FaultFamily):
    category = "shared_library"
    keywords = ("shared library", "dynamic linking", "linker", "ld.so", ".so", "elf", "library",
                "corrupt", "symlink", "soname")
    damage = ""

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(ranked_libs(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        soname = base.pick(rng, ranked_libs(ctx.surface))
        path = base.system_libs(ctx.surface)[soname]
        libdir, real = os.path.dirname(path), os.path.basename(path)
        link = f"{libdir}/{soname}"
        if real != soname:  # libfoo.so.0 -> libfoo.so.0.8.6: retarget the link at a bad copy
            bad = f"{path}{SUFFIX}"
            damage = self.damage.format(src=shlex.quote(path), f=shlex.quote(bad))
            cmd = f"{damage} && ln -sf {shlex.quote(real + SUFFIX)} {shlex.quote(link)}"
            repair = [f"ln -sf {shlex.quote(real)} {shlex.quote(link)}", f"rm -f {shlex.quote(bad)}"]
        else:  # the soname is the file itself: keep it aside, link the soname to a bad copy
            orig, bad = f"{path}.orig", f"{path}{SUFFIX}"
            damage = self.damage.format(src=shlex.quote(path), f=shlex.quote(bad))
            cmd = (f"{damage} && mv {shlex.quote(path)} {shlex.quote(orig)} && "
                   f"ln -s {shlex.quote(soname + SUFFIX)} {shlex.quote(link)}")
            repair = [f"mv -f {shlex.quote(orig)} {shlex.quote(path)}", f"rm -f {shlex.quote(bad)}"]
        return self.make(
            soname,
            f"{link} now points at a damaged copy of {real}",
            [RunCommand(cmd)],
            repair,
            explore=f"ls -la {shlex.quote(libdir)}/{shlex.quote(soname.split('.so')[0])}.so*",
        )


class ElfHeaderShadow(_SonameRetarget):
    name = "so_elf_header_shadow"
    description = "Point a loaded library's SONAME link at a copy with a zeroed ELF header."
    damage = "cp -L {src} {f} && dd if=/dev/zero of={f} bs=64 count=1 conv=notrunc status=none"


class TruncatedShadow(_SonameRetarget):
    name = "so_truncated_shadow"
    description = "Point a loaded library's SONAME link at a copy truncated to its first 512 bytes."
    damage = "head -c 512 {src} > {f}"


FAMILIES = [ElfHeaderShadow, TruncatedShadow]
