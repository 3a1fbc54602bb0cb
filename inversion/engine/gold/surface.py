"""Summarise the raw dependency surface the pytest plugin records into what agents aim at.

The plugin (run with the baseline) knows module names, files and /proc/self/maps. One extra
`python` exec in the same container adds what only the image knows: which distribution owns
each site-packages file (importlib.metadata), which Debian package owns each shared library
(`dpkg -S`) and where each executable resolves on PATH.
"""

from __future__ import annotations

import json
import os

from inversion.engine.runtime import testrun
from inversion.engine.runtime.sandbox import Sandbox

SUPPORT_PREFIX = testrun.SUPPORT_MOUNT
TESTBED = "/testbed"

# Runs inside the container with the venv's python; reads and writes JSON in the out dir.
INFO_SCRIPT = r"""
import importlib.metadata as md, json, os, shutil, subprocess, sys
req = json.load(open(sys.argv[1]))
owners, packages, local = {}, [], []
for dist in md.distributions():
    name, version = dist.metadata["Name"], dist.version
    packages.append({"name": name, "version": version})
    try:
        url = json.loads(dist.read_text("direct_url.json") or "{}").get("url") or ""
    except ValueError:
        url = ""
    if url == "file:///testbed" or url.startswith("file:///testbed/"):
        local.append(name)
    for f in dist.files or []:
        owners[os.path.realpath(str(dist.locate_file(f)))] = (name, version)
files = {p: owners.get(os.path.realpath(p)) for p in req["files"]}
top = {k: v[0] for k, v in md.packages_distributions().items() if v}
versions = {x["name"]: x["version"] for x in packages}
debs = {}
def dpkg(paths):
    if not paths or not shutil.which("dpkg"):
        return
    out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pkg, _, path = line.partition(": ")
        debs.setdefault(path.strip(), pkg.split(":")[0].split(",")[0].strip())
dpkg(req["libs"])
missing = [p for p in req["libs"] if p not in debs]
alias = {}
for p in missing:
    for cand in (os.path.realpath(p), p.replace("/usr/lib/", "/lib/", 1)):
        if cand != p:
            alias[cand] = p
dpkg(sorted(alias))
for cand, p in alias.items():
    if cand in debs:
        debs.setdefault(p, debs[cand])
exes = {e: (e if e.startswith("/") else shutil.which(e)) for e in req["exes"]}
json.dump({"files": files, "debs": debs, "exes": exes, "packages": packages, "top_level": top,
           "versions": versions, "local": local}, open(sys.argv[2], "w"))
"""


def image_info(sandbox: Sandbox, out: testrun.OutDir, raw: dict, timeout: float = 120) -> dict:
    """Ask the container who owns the files, libraries and executables in `raw` (best effort)."""
    request = {
        "files": sorted({f for f in (raw.get("modules") or {}).values() if f}),
        "libs": sorted(raw.get("shared_libs") or []),
        "exes": sorted(raw.get("executables") or {}),
    }
    (out.path / "surface_info.py").write_text(INFO_SCRIPT)
    (out.path / "surface_req.json").write_text(json.dumps(request))
    mount = testrun.OUT_MOUNT
    result = sandbox.exec(
        f"python {mount}/surface_info.py {mount}/surface_req.json {mount}/surface_info.json", timeout=timeout
    )
    target = out.path / "surface_info.json"
    if not result.ok or not target.exists():
        return {}
    try:
        return json.loads(target.read_text())
    except ValueError:
        return {}


def _by_top_level(module: str, info: dict) -> tuple[str | None, str | None]:
    """Fallback when RECORD lacks the file (egg-info installs): the top-level import name's dist."""
    dist = (info.get("top_level") or {}).get(module.split(".")[0])
    return dist, (info.get("versions") or {}).get(dist) if dist else None


CALLS_KEPT = 3000  # functions kept in the call map, the most even splits of the suite first


def call_map(raw: dict) -> dict:
    """The call map (one profiled run): functions of installed and stdlib modules that some tests
    call and others do not, as {"tests": N, "functions": [{module, file, function, tests}]}, and
    top-level modules whose functions some tests call and others do not ({"modules": {name: tests}}:
    every test file may import them, yet a test that never calls into one passes without it)."""
    calls = raw.get("calls") or {}
    total = int(calls.get("tests") or 0)
    rows = [f for f in calls.get("functions") or [] if 0 < int(f.get("tests") or 0) < total]
    rows.sort(key=lambda f: (-min(f["tests"], total - f["tests"]), f["module"], f["function"]))
    modules = {str(m): int(n) for m, n in (calls.get("modules") or {}).items() if 0 < int(n or 0) < total}
    if not rows and not modules:
        return {}
    return {"tests": total, "functions": rows[:CALLS_KEPT], "modules": modules}


def summarize(raw: dict, info: dict) -> dict:
    """The GoldEnvironment.surface shape documented in docs/architecture.md."""
    python = raw.get("python") or {}
    site_dirs = [p for p in python.get("path", []) if p.endswith(("site-packages", "dist-packages"))]
    base = python.get("base_prefix", "/usr")
    owners = info.get("files") or {}
    stdlib, site, project, other = [], [], [], []
    stdlib_files: dict[str, str] = {}  # name -> file of each stdlib module loaded from disk
    for name, path in sorted((raw.get("modules") or {}).items()):
        if path and path.startswith(SUPPORT_PREFIX) or name.startswith("studio_"):
            continue  # the studio's own plugin is not part of the project's surface
        if not path:
            stdlib.append(name)
        elif path.startswith(TESTBED + "/"):
            project.append({"name": name, "file": path})
        elif any(path.startswith(d + "/") for d in site_dirs):
            dist, version = owners.get(path) or _by_top_level(name, info)
            site.append({"name": name, "file": path, "dist": dist, "version": version})
        elif path.startswith(f"{base}/lib/python"):
            stdlib.append(name)
            stdlib_files[name] = path
        else:
            other.append({"name": name, "file": path})
    debs = info.get("debs") or {}
    libs = [
        {"path": p, "name": os.path.basename(p), "package": debs.get(p), "dist": (owners.get(p) or [None])[0]}
        for p in sorted(raw.get("shared_libs") or [])
    ]
    used = {s["dist"] for s in site if s["dist"]}  # distributions the tests load
    resolved = info.get("exes") or {}
    exes = [
        {"name": n, "path": resolved.get(n), "count": c}
        for n, c in sorted((raw.get("executables") or {}).items())
    ]
    return {
        "python": {
            "executable": python.get("executable"),
            "executable_link": python.get("executable_link"),
            "version": python.get("version"),
            "prefix": python.get("prefix"),
            "base_prefix": base,
            "site_packages": site_dirs,
        },
        "modules": {
            "stdlib": stdlib,
            "site": site,
            "project": project,
            "other": other,
            "stdlib_files": stdlib_files,
            "startup": sorted(m for m in raw.get("startup_modules") or [] if not m.startswith("studio_")),
        },
        "shared_libs": libs,
        "executables": exes,
        "packages": sorted(info.get("packages") or [], key=lambda p: (p.get("name") or "").lower()),
        "per_file": raw.get("per_file") or {},
        "calls": call_map(raw),
        "test_files": sorted(raw.get("per_file") or {}),
        "distributions_used": sorted(used),
        # distributions installed from the project's own tree (`pip install .`, not editable): their
        # modules are the project's code as the tests load it (markupsafe builds its C extension so)
        "project_dists": sorted(set(info.get("local") or []) & used),
        "deb_packages_used": sorted({v for v in (libs_pkg["package"] for libs_pkg in libs) if v}),
    }


def overview(surface: dict) -> dict:
    """Counts for pages and the CLI."""
    modules = surface.get("modules") or {}
    return {
        "stdlib": len(modules.get("stdlib") or []),
        "site": len(modules.get("site") or []),
        "project": len(modules.get("project") or []),
        "shared_libs": len(surface.get("shared_libs") or []),
        "executables": len(surface.get("executables") or []),
        "distributions": surface.get("distributions_used") or [],
        "deb_packages": surface.get("deb_packages_used") or [],
    }
