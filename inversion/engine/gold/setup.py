"""The gold set-up loop's brain: a structured plan for the Dockerfile, and the diagnosis that turns a
failed attempt (build log, baseline) into the next plan, with the reason and the change in words.

Plain functions over strings and plans, so every rule is tested on real log lines without Docker.
The project's files are never edited: what a plan may change is the packages (pip and Debian), the
environment, the build switches and the test command's arguments.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from inversion.engine.gold.dockerfile import CA_FILE, SOURCE_DIR, TESTBED, VENV, _one_line
from inversion.engine.gold.knowledge import HEADER_TO_DEB, IMPORT_TO_DIST, INI_TO_PLUGIN, OPTION_TO_PLUGIN

PYTEST_FLOOR = (6, 2, 5)  # the first pytest that runs on Python 3.10+ (the base image has 3.11)


@dataclass(frozen=True)
class SetupPlan:
    install: str  # the project's install command (detected, or the curator's)
    packages: tuple[str, ...] = ()  # more pip requirements: missing test deps, plugins, pins ("pytest<8")
    apt: tuple[str, ...] = ()  # Debian packages (headers, compilers)
    env: tuple[tuple[str, str], ...] = ()  # build and test environment (SETUPTOOLS_SCM_PRETEND_VERSION=...)
    prebuild: tuple[str, ...] = ()  # installed before the project, which then builds without isolation
    test_args: tuple[str, ...] = ()  # appended to the test command (never an edit of the project)

    def with_(self, **changes) -> SetupPlan:
        merged = {}
        for key, value in changes.items():
            old = getattr(self, key)
            merged[key] = tuple(dict.fromkeys((*old, *value))) if isinstance(old, tuple) else value
        return replace(self, **merged)


@dataclass(frozen=True)
class Diagnosis:
    reason: str  # what went wrong, one line
    change: str = ""  # what the next attempt changes, and why
    plan: SetupPlan | None = None  # None: no rule knows a fix


def render(plan: SetupPlan, *, base_image: str, with_ca: bool) -> str:
    """The gold Dockerfile of a plan (classic builder syntax: no heredocs)."""
    lines = [f"FROM {base_image}"]
    if with_ca:
        lines += [f"COPY {CA_FILE} /usr/local/share/ca-certificates/{CA_FILE}",
                  f"RUN cat /usr/local/share/ca-certificates/{CA_FILE} >> /etc/ssl/certs/ca-certificates.crt"]
    if plan.apt:
        lines.append("RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                     f"--no-install-recommends {' '.join(sorted(plan.apt))} && rm -rf /var/lib/apt/lists/*")
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in plan.env)
    lines += [f"RUN python3 -m venv {VENV}", f"ENV PATH={VENV}/bin:$PATH VIRTUAL_ENV={VENV}" + (f" {env}" if env else ""),
              # Without `wheel` old pip falls back to `setup.py install` (egg-info, no RECORD of files).
              "RUN pip install --upgrade pip setuptools wheel"]
    if plan.prebuild:
        lines.append("RUN pip install " + " ".join(shlex.quote(p) for p in plan.prebuild))
    lines += [f"COPY {SOURCE_DIR}/ {TESTBED}/", f"WORKDIR {TESTBED}"]
    install = _one_line(plan.install)
    if plan.prebuild and install.startswith("pip install") and "--no-build-isolation" not in install:
        install = "pip install --no-build-isolation" + install[len("pip install"):]
    extra = " ".join(shlex.quote(p) for p in plan.packages)
    lines.append(f"RUN {install}" + (f" && pip install {extra}" if extra else ""))
    return "\n".join(lines) + "\n"


def test_command(base: str, plan: SetupPlan) -> str:
    return " ".join([base, *(shlex.quote(a) for a in plan.test_args)])


# ---- diagnosis ----------------------------------------------------------------------------------

@dataclass
class Context:
    """What the rules may know beyond the logs."""

    version: str = ""  # the release being built (for a VCS version a build needs)
    project_modules: set[str] = field(default_factory=set)  # import names the project itself provides
    era_pins: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda names: ()  # pins as of the release
    dist_exists: Callable[[str], bool] = lambda name: True  # does the index have this distribution?
    tried: set[str] = field(default_factory=set)  # changes made already (never the same twice)


def _tail(text: str, n: int = 400) -> str:
    return "\n".join(text.splitlines()[-n:])


def _messages(baseline: dict | None) -> str:
    """Every failure message and run error of a baseline, as one text."""
    if not baseline:
        return ""
    parts = [r.get("error", "") for r in baseline.get("runs") or []]
    parts += [t.get("message") or "" for t in (baseline.get("tests") or {}).values()
              if t.get("outcome") in ("failed", "error")]
    return "\n".join(p for p in parts if p)


def _dist_for(module: str, ctx: Context) -> str:
    top = module.split(".")[0]
    for name in (module, top):
        if name in IMPORT_TO_DIST:
            return IMPORT_TO_DIST[name]
    return top.replace("_", "-") if ctx.dist_exists(top.replace("_", "-")) else ""


def _once(ctx: Context, key: str) -> bool:
    if key in ctx.tried:
        return False
    ctx.tried.add(key)
    return True


def _build_rules(plan: SetupPlan, log: str, ctx: Context) -> Diagnosis | None:
    missing = re.findall(r"fatal error: ([\w/.+-]+): No such file or directory", log)
    missing += re.findall(r"command '([\w/.+-]+)' failed: No such file or directory", log)
    missing += re.findall(r"(?:^|\s)([\w.+-]+): (?:command )?not found", log, flags=re.M)
    missing += re.findall(r"(pg_config|mysql_config) executable not found", log)
    for item in missing:
        deb = next((pkg for key, pkg in HEADER_TO_DEB.items() if item.startswith(key) or item.endswith(key)), "")
        if deb and _once(ctx, f"apt:{deb}"):
            return Diagnosis(f"the build needs {item}, which the base image lacks",
                             f"install the Debian package {deb}", plan.with_(apt=(deb,)))
    scm = re.search(r"setuptools[-_]scm.*(unable to detect version|LookupError)|unable to detect version", log, re.I)
    if scm and _once(ctx, "scm"):
        version = ctx.version or "0.0.0"
        return Diagnosis("setuptools-scm finds no VCS metadata in the sources",
                         f"pretend version {version} (SETUPTOOLS_SCM_PRETEND_VERSION)",
                         plan.with_(env=(("SETUPTOOLS_SCM_PRETEND_VERSION", version),)))
    if "use_2to3 is invalid" in log and _once(ctx, "setuptools<58"):
        return Diagnosis("setup.py uses use_2to3, which setuptools 58 removed",
                         "build with setuptools<58, without build isolation", plan.with_(prebuild=("setuptools<58",)))
    for module in re.findall(r"ModuleNotFoundError: No module named '([\w.]+)'", log):
        dist = _dist_for(module, ctx)
        if dist and _once(ctx, f"prebuild:{dist}"):
            return Diagnosis(f"setup.py imports {module}, which its build environment lacks",
                             f"install {dist} first and build without isolation", plan.with_(prebuild=(dist, "setuptools", "wheel")))
    req = re.search(r"No matching distribution found for ([\w.\-\[\]]+)", log)
    if req and ("-r " in plan.install or "[" in plan.install) and _once(ctx, "bare-install"):
        return Diagnosis(f"a declared requirement cannot be installed here ({req.group(1)})",
                         "install the project and pytest only, without its extras and requirement files",
                         replace(plan, install="pip install . pytest"))
    return None


def _pytest_rules(plan: SetupPlan, text: str, ctx: Context) -> Diagnosis | None:
    incompatible = re.search(
        r"PluginValidationError|unknown hook|PytestRemovedIn\d+Warning|has no attribute '(?:yield_fixture|fspath|"
        r"warns?|funcargnames)'|unexpected keyword argument '(?:path|fspath)'|hookimpl definition|"
        r"Argument\(s\) \{'path'\} are declared in the hookimpl", text)
    if not incompatible:
        return None
    if _once(ctx, "era"):
        pins = ctx.era_pins(("pytest",))
        if pins:
            return Diagnosis(f"the newest pytest does not fit this project ({incompatible.group(0)})",
                             f"test tooling as of the release: {', '.join(pins)}", plan.with_(packages=pins))
    for major in (8, 7):
        if _once(ctx, f"pytest<{major}"):
            pins = tuple(p for p in plan.packages if not p.startswith("pytest==")) + (f"pytest<{major}",)
            return Diagnosis(f"pytest still rejects the project's test configuration ({incompatible.group(0)})",
                             f"an older pytest major (pytest<{major})", replace(plan, packages=pins))
    return None


def _test_rules(plan: SetupPlan, text: str, ctx: Context) -> Diagnosis | None:
    for module in re.findall(r"No module named '([\w.]+)'", text):
        if module.split(".")[0] in ctx.project_modules:
            continue
        dist = _dist_for(module, ctx)
        if dist and _once(ctx, f"pip:{dist}"):
            return Diagnosis(f"the tests import {module}, which nothing installed", f"install {dist}",
                             plan.with_(packages=(dist,)))
    unknown = re.search(r"unrecognized arguments: ([^\n]+)", text)
    if unknown:
        option = unknown.group(1).split()[0]
        plugin = next((p for o, p in OPTION_TO_PLUGIN.items() if option.startswith(o)), None)
        if plugin and _once(ctx, f"pip:{plugin}"):
            return Diagnosis(f"the test configuration passes {option}, which no installed plugin knows",
                             f"install {plugin}", plan.with_(packages=(plugin,)))
        if _once(ctx, "no-addopts"):
            return Diagnosis(f"the test configuration passes {option}, which no known plugin adds",
                             "drop the configured addopts in the test command (-o addopts=)",
                             plan.with_(test_args=("-o", "addopts=")))
    for name in re.findall(r"fixture '(\w+)' not found|'(\w+)' not found in `markers` configuration", text):
        name = next(n for n in name if n)
        plugin = INI_TO_PLUGIN.get(name) or OPTION_TO_PLUGIN.get(f"--{name}", "")
        if plugin and _once(ctx, f"pip:{plugin}"):
            return Diagnosis(f"the tests use {name!r}, which no installed plugin provides", f"install {plugin}",
                             plan.with_(packages=(plugin,)))
    if re.search(r"DeprecationWarning|PendingDeprecationWarning", text) and _once(ctx, "warnings"):
        return Diagnosis("warnings turned into errors fail the tests under today's packages",
                         "ignore deprecation warnings in the test command (-W)",
                         plan.with_(test_args=("-W", "ignore::DeprecationWarning", "-W", "ignore::PendingDeprecationWarning")))
    return None


def diagnose(plan: SetupPlan, *, build_error: str, build_log: str, baseline: dict | None, reason: str,
             ctx: Context) -> Diagnosis:
    """The next plan after a failed attempt (build error, or a baseline with `reason`), or none."""
    if build_error:
        log = _tail(build_log)
        found = _build_rules(plan, log, ctx)
        why = f"build failed: {build_error}"[:300]
        return Diagnosis(why, found.change, found.plan) if found else Diagnosis(why)
    text = _messages(baseline)
    found = _pytest_rules(plan, text, ctx) or _test_rules(plan, text, ctx)
    return Diagnosis(reason or (found.reason if found else ""), found.change if found else "",
                     found.plan if found else None)
