"""Loader faults one level below the library files: the dynamic linker's configuration and what a
C extension's dependency really exports.

- `ld_conf_stale_cache`: a vendor directory is added to `/etc/ld.so.conf.d` (ahead of the system
  one) with a copy of a library the tests load, `ldconfig` caches it, then the copy is damaged
  without rebuilding the cache: the loader follows the stale cache to the broken file ("invalid ELF
  header" naming a path nobody remembers adding). Repair: drop the conf and the directory, `ldconfig`.
- `ext_dep_symbol_missing`: a library a compiled extension links is swapped, under its SONAME, for
  another valid library (an unrelated build left by a botched upgrade): the import fails with
  "undefined symbol". Repair: point the SONAME back, remove the impostor.

Both keep the good file on disk, so the repair needs no network.
"""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base
from inversion.engine.episode.faults.sharedlib import ranked_libs

VENDORS = ("acme-runtime", "oracle-client", "vendor-sdk", "legacy-libs")
KEYWORDS = ("dynamic linker", "linker", "ld.so", "ld.so.conf", "ldconfig", "cache", "shared library", "library")


class LdConfStaleCache(base.FaultFamily):
    name = "ld_conf_stale_cache"
    layering = "beside"
    category = "dynamic_linker"
    description = "A vendor dir in ld.so.conf.d shadows a loaded library; its copy is damaged behind a stale cache."
    keywords = KEYWORDS

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(ranked_libs(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        soname = base.pick(rng, ranked_libs(ctx.surface))
        path = base.system_libs(ctx.surface)[soname]
        vendor = rng.choice(VENDORS)
        libdir, conf = f"/opt/{vendor}/lib", f"/etc/ld.so.conf.d/00-{vendor}.conf"
        copy = shlex.quote(f"{libdir}/{soname}")
        return self.make(
            soname,
            f"{conf} puts {libdir} first; the cached {soname} there has a zeroed ELF header",
            [RunCommand(f"mkdir -p {libdir} && cp -L {shlex.quote(path)} {copy}"),
             RunCommand(f"echo {libdir} > {conf} && ldconfig"),
             RunCommand(f"dd if=/dev/zero of={copy} bs=64 count=1 conv=notrunc status=none")],
            [f"rm -f {conf}", f"rm -rf /opt/{vendor}", "ldconfig"],
            explore="cat /etc/ld.so.conf.d/*.conf",
        )


def _impostor(surface: dict[str, Any], soname: str) -> str | None:
    """Another real system library to install under `soname`: valid ELF, none of its symbols."""
    libs = base.system_libs(surface)
    others = [p for s, p in sorted(libs.items()) if s != soname]
    for lib in surface.get("shared_libs") or []:
        p = lib.get("path") or ""
        if os.path.basename(p).startswith(("libz.so", "liblzma.so", "libbz2.so")) and p not in others:
            others.append(p)
    preferred = [p for p in others if os.path.basename(p).startswith(("libz.so", "liblzma.so", "libbz2.so"))]
    return (preferred or others or [None])[0]


class ExtDepSymbolMissing(base.FaultFamily):
    name = "ext_dep_symbol_missing"
    category = "native_extension"
    description = "A C extension's dependency library is replaced, under its SONAME, by a library missing its symbols."
    keywords = ("extension", "c extension", "undefined symbol", "symbol", "abi", "native", "library", "upgrade")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return any(_impostor(surface, s) for s in ranked_libs(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        soname = base.pick(rng, [s for s in ranked_libs(ctx.surface) if _impostor(ctx.surface, s)])
        path = base.system_libs(ctx.surface)[soname]
        other = _impostor(ctx.surface, soname)
        libdir, real = os.path.dirname(path), os.path.basename(path)
        link = shlex.quote(f"{libdir}/{soname}")
        if real != soname:  # libfoo.so.0 -> libfoo.so.0.8.6: an "older build" beside it, the link moved to it
            fake = f"{soname}.{rng.choice(['1.0', '2.1', '9.9'])}"
            cmds = [f"cp -L {shlex.quote(other)} {shlex.quote(f'{libdir}/{fake}')}", f"ln -sf {fake} {link}"]
            repair = [f"ln -sf {shlex.quote(real)} {link}", f"rm -f {shlex.quote(f'{libdir}/{fake}')}"]
        else:  # the soname is the file: keep it aside, the impostor takes its name
            aside = shlex.quote(f"{path}.dpkg-old")
            cmds = [f"mv {shlex.quote(path)} {aside}", f"cp -L {shlex.quote(other)} {shlex.quote(path)}"]
            repair = [f"mv -f {aside} {shlex.quote(path)}"]
        return self.make(
            soname,
            f"{libdir}/{soname} now resolves to a copy of {os.path.basename(other)}, which lacks its symbols",
            [RunCommand(c) for c in cmds],
            repair,
            explore=f"ls -la {shlex.quote(libdir)}/{shlex.quote(soname.split('.so')[0])}.so*",
        )


FAMILIES = [LdConfStaleCache, ExtDepSymbolMissing]
