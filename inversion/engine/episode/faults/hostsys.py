"""Faults in the host system's own plumbing, each modelled on an ordinary admin slip.

- `alternatives_dangling`: a program the tests run is moved under an alternatives-style link chain
  (`/usr/bin/git -> /etc/alternatives/git -> /opt/git-2.45/bin/git`) whose end was never installed.
  Repair: put the original back (it was kept as `<name>.distrib`), drop the chain.
- `ca_store_wiped`: a "cleanup" emptied the system CA bundle and its hashed links; TLS tests that use
  the system store find no CA. Repair: `update-ca-certificates --fresh` (offline, from the packaged CAs).
- `nss_hosts_unavailable`: `/etc/nsswitch.conf` asks an LDAP source first for host names and returns
  when it is unavailable, so even `localhost` does not resolve. Repair: cut the LDAP source.
- `tmp_root_foreign_owner`: pytest's per-user temporary root exists but belongs to another user (left
  by a runner that used another uid); pytest refuses it, so only tests that use `tmp_path` error.
  Repair: give it back to root. Read/write bits do not bite root; ownership checks in code do.
"""

from __future__ import annotations

import os
import random
import shlex
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base
from inversion.engine.episode.faults.filesystem import tmp_path_users

NETWORK_MODULES = {"encodings.idna", "socket", "socketserver", "http.client", "http.server", "asyncio",
                   "urllib.request", "ssl", "smtplib", "xmlrpc.client", "ftplib", "aiohttp", "httpx", "requests",
                   "urllib3"}


def _exes(surface: dict[str, Any]) -> list[str]:
    return [n for n, p in sorted(base.executables(surface).items()) if p.startswith(("/usr/bin/", "/bin/", "/usr/local/bin/"))]


class AlternativesDangling(base.FaultFamily):
    name = "alternatives_dangling"
    category = "alternatives"
    description = "A program the tests run becomes an alternatives link chain ending at a version never installed."
    keywords = ("alternatives", "update-alternatives", "symlink", "link chain", "executable", "program", "path")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(_exes(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        name = rng.choice(_exes(ctx.surface))
        path = base.executables(ctx.surface)[name]
        q, kept = shlex.quote(path), shlex.quote(f"{path}.distrib")
        alt, target = f"/etc/alternatives/{name}", f"/opt/{name}-{rng.choice(['2.45', '3.1', '10.2'])}/bin/{name}"
        return self.make(
            name,
            f"{path} -> {alt} -> {target}, which does not exist (the original kept as {path}.distrib)",
            [RunCommand(f"mv {q} {kept}"),
             RunCommand(f"mkdir -p /etc/alternatives && ln -sfn {shlex.quote(target)} {shlex.quote(alt)}"),
             RunCommand(f"ln -s {shlex.quote(alt)} {q}")],
            [f"rm -f {q} {shlex.quote(alt)}", f"mv {kept} {q}"],
            explore=f"ls -la {q}",
        )


class CaStoreWiped(base.FaultFamily):
    name = "ca_store_wiped"
    category = "trust_store"
    description = "The system CA bundle emptied and its hashed links removed by a cleanup job."
    keywords = ("certificate", "ca", "trust", "tls", "ssl", "https", "store", "bundle")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return any("ssl" in mods and not mods & {"certifi"} for mods in base.file_modules(surface).values())

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        bundle = "/etc/ssl/certs/ca-certificates.crt"
        return self.make(
            "ca-certificates.crt",
            f"{bundle} truncated to nothing and the hashed links in /etc/ssl/certs removed",
            [RunCommand("find /etc/ssl/certs -maxdepth 1 -type l -delete"),
             RunCommand(f": > {bundle}")],
            ["update-ca-certificates --fresh > /dev/null", f"test -s {bundle}"],
            explore="ls /etc/ssl/certs | head",
        )


class NssHostsUnavailable(base.FaultFamily):
    name = "nss_hosts_unavailable"
    category = "name_resolution"
    description = "nsswitch.conf asks an unavailable LDAP source for host names first and gives up there."
    keywords = ("dns", "resolve", "resolution", "localhost", "hosts", "nsswitch", "network", "name")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return any(mods & NETWORK_MODULES for mods in _first_imports(surface).values())

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        conf = "/etc/nsswitch.conf"
        return self.make(
            "hosts",
            f"{conf}: hosts: ldap [UNAVAIL=return] files dns",
            [RunCommand(f"sed -i 's/^hosts:\\([[:space:]]*\\)/hosts:\\1ldap [UNAVAIL=return] /' {conf} && grep -q ldap {conf}")],
            [f"sed -i 's/ldap \\[UNAVAIL=return\\] //' {conf}"],
            explore=f"cat {conf}",
        )


def _first_imports(surface: dict[str, Any]) -> dict[str, set[str]]:
    """Per test file, the full names of what it imported first (encodings.idna means a host name
    was looked up)."""
    per_file = surface.get("per_file") or {}
    return {f: set(v.get("modules") or []) | {base.top(m) for m in v.get("modules") or []} for f, v in per_file.items()}


class TmpRootForeignOwner(base.FaultFamily):
    name = "tmp_root_foreign_owner"
    category = "ownership"
    description = "pytest's per-user temporary root exists but is owned by another user."
    keywords = ("ownership", "owner", "chown", "uid", "tmp", "tmp_path", "permission")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(tmp_path_users(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        uid = rng.choice([1000, 1001, 65534])
        root = "/tmp/pytest-of-root"
        return self.make(
            root,
            f"{root} owned by uid {uid}",
            [RunCommand(f"mkdir -p {root} && chown -R {uid}:{uid} {root} && chmod 700 {root}")],
            [f"chown -R root:root {root}"],
            explore=f"ls -la {os.path.dirname(root)}",
        )


FAMILIES = [AlternativesDangling, CaStoreWiped, NssHostsUnavailable, TmpRootForeignOwner]
