"""The gold set-up loop's brain: the diagnosis that turns a failed attempt (build log, baseline) into
the next plan (dockerfile.SetupPlan), with the reason and the change in words.

Plain functions over strings and plans, so every rule is tested on real log lines without Docker.
The project's files are never edited: what a plan may change is the packages (pip and Debian), the
environment, the build switches and the test command's arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from inversion.engine.gold.dockerfile import SetupPlan
from inversion.engine.gold.knowledge import (
    HEADER_TO_DEB,
    HELPER_MODULES,
    IMPORT_TO_DIST,
    INI_TO_PLUGIN,
    LIB_TO_DEB,
    OPTION_TO_PLUGIN,
)


@dataclass(frozen=True)
class Diagnosis:
    reason: str  # what went wrong, one line
    change: str = ""  # what the next attempt changes, and why
    plan: SetupPlan | None = None  # None: no rule knows a fix


@dataclass
class Context:
    """What the rules may know beyond the logs."""

    version: str = ""  # the release being built (for a VCS version a build needs)
    dist: str = ""  # its distribution name on the index ("" when it has none: a local project)
    project_modules: set[str] = field(default_factory=set)  # import names the project itself provides
    native: bool = False  # the project has C/C++/Cython sources (compiled extension modules)
    era_pins: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda names: ()  # pins as of the release
    dist_exists: Callable[[str], bool] = lambda name: True  # does the index have this distribution?
    newest: Callable[[str], str] = lambda name: ""  # the newest release of a distribution ("" unknown)
    tried: set[str] = field(default_factory=set)  # changes made already (never the same twice)


def project_modules(root: Path) -> set[str]:
    """Import names the project itself provides (a failing import of one is the project's bug,
    never a missing distribution): top-level packages and modules, also under src/."""
    names = set()
    for base in (root, root / "src"):
        if not base.is_dir():
            continue
        for entry in base.iterdir():
            if entry.is_dir() and (entry / "__init__.py").exists():
                names.add(entry.name)
            elif entry.suffix == ".py" and entry.stem not in ("setup", "conftest", "noxfile"):
                names.add(entry.stem)
    return names


NATIVE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".pyx")


def has_native_sources(root: Path) -> bool:
    """Does the project compile extension modules (C, C++ or Cython sources outside its tests)?"""
    for path in root.rglob("*"):
        if path.suffix in NATIVE_SUFFIXES and "test" not in path.relative_to(root).parts[0].lower():
            return True
    return False


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


def _deb_for(item: str) -> str:
    """The Debian package shipping a header or tool the build missed ("bzlib.h" is not "zlib.h").
    A header the table does not know gets the dev package named after it, as an apt pattern
    (`lzo/lzo1.h` -> `^liblzo[0-9.-]*-dev$`: liblzo2-dev): Debian names nearly every C library so."""
    base = item.rsplit("/", 1)[-1]
    for key, pkg in HEADER_TO_DEB.items():
        if (key.endswith("/") and item.startswith(key)) or key in (item, base):
            return pkg
    if item.endswith(".h"):
        return _dev_pattern(item.split("/")[0] if "/" in item else base[:-2])
    return ""


def _dev_pattern(name: str) -> str:
    """An apt-get pattern for lib<name>'s dev package, whatever its soname digits ("" if unsafe)."""
    stem = re.sub(r"^lib|[\d._-]+$", "", name.lower())
    return f"^lib{stem}[0-9.-]*-dev$" if re.fullmatch(r"[a-z][a-z0-9+]{1,30}", stem) else ""


def _once(ctx: Context, key: str) -> bool:
    if key in ctx.tried:
        return False
    ctx.tried.add(key)
    return True


def _declares_more(plan: SetupPlan) -> bool:
    """The install names more than the project and pytest (requirement files, extras, pins)."""
    return plan.install.split()[:2] == ["pip", "install"] and set(plan.install.split()[2:]) - {".", "pytest"} != set()


def _bare(plan: SetupPlan, ctx: Context, reason: str) -> Diagnosis | None:
    """Install the project and pytest only: the missing-import rules then add, at their newest
    releases, what the tests need of what was declared."""
    if not (_declares_more(plan) and _once(ctx, "bare-install")):
        return None
    return Diagnosis(reason, "install the project and pytest only, without its extras and requirement files",
                     replace(plan, install="pip install . pytest"))


def _dependency_build_failed(plan: SetupPlan, log: str, ctx: Context) -> Diagnosis | None:
    """A declared dependency, not the project, fails to build here (unseen ecdsa 0.18.0: tox's
    gmpy2 pin includes CPython's longintrepr.h, which 3.11 moved): no system package helps that."""
    own = {ctx.dist.lower().replace("_", "-")} | {m.lower().replace("_", "-") for m in ctx.project_modules}
    failed = re.findall(r"Failed building wheel for ([\w.\-]+)|Building wheel for ([\w.\-]+) \(\S+\) did not run", log)
    names = sorted({(a or b).lower().replace("_", "-") for a, b in failed} - own - {""})
    return _bare(plan, ctx, f"a declared dependency does not build here ({', '.join(names)})") if names else None


def _build_rules(plan: SetupPlan, log: str, ctx: Context) -> Diagnosis | None:
    found = _dependency_build_failed(plan, log, ctx)
    if found:
        return found
    missing = re.findall(r"fatal error: ([\w/.+-]+): No such file or directory", log)
    missing += re.findall(r"command '([\w/.+-]+)' failed: No such file or directory", log)
    missing += re.findall(r"(?:^|\s)([\w.+-]+): (?:command )?not found", log, flags=re.M)
    missing += re.findall(r"(pg_config|mysql_config) executable not found", log)
    for item in missing:
        deb = _deb_for(item)
        if deb and _once(ctx, f"apt:{deb}"):
            return Diagnosis(f"the build needs {item}, which the base image lacks",
                             f"install the Debian package {deb}", plan.with_(apt=(deb,)))
    libs = re.findall(r"cannot find -l([\w+.-]+)", log)
    libs += re.findall(r"headers or library files could not be found for (\w+)", log)
    for lib in libs:
        deb = LIB_TO_DEB.get(lib.lower(), "") or _dev_pattern(lib)
        if deb and _once(ctx, f"apt:{deb}"):
            return Diagnosis(f"the build needs the {lib} library, which the base image lacks",
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
    if "CERTIFICATE_VERIFY_FAILED" in log:
        return Diagnosis("TLS to the package index fails inside the build (a proxy's CA? set STUDIO_EXTRA_CA_BUNDLE)")
    req = re.search(r"No matching distribution found for ([\w.\-\[\]]+)|Cannot install ([^\n]+?) because these "
                    r"package versions have conflicting dependencies", log)
    if req:
        what = f"({req.group(1)})" if req.group(1) else f"together ({req.group(2)[:120]} conflict)"
        return _bare(plan, ctx, f"the declared requirements cannot be installed here {what}")
    return None


def _pytest_rules(plan: SetupPlan, text: str, ctx: Context) -> Diagnosis | None:
    if re.search(r'required field "lineno" missing from alias', text):  # pytest < 6.2.5's rewrite on 3.10+
        found = _bare(plan, ctx, "the pytest the declared requirements pin predates this Python (its assertion "
                                 "rewriting fails: required field \"lineno\" missing from alias)")
        if found:
            return found
    incompatible = re.search(
        r"PluginValidationError|unknown hook|PytestRemovedIn\d+Warning|has no attribute '(?:yield_fixture|fspath|"
        r"warns?|funcargnames|funcargs)'|unexpected keyword argument '(?:path|fspath)'|hookimpl definition|"
        r"Argument\(s\) \{'path'\} are declared in the hookimpl|Duplicate parametrization IDs|"
        r"strict_parametrization_ids|exceptions must be derived from Warning, not <class 'NoneType'>", text)
    if not incompatible:
        return None
    if _once(ctx, "era"):
        pins = ctx.era_pins(("pytest",))
        if pins:
            return Diagnosis(f"the newest pytest does not fit this project ({incompatible.group(0)})",
                             f"test tooling as of the release: {', '.join(pins)}", plan.with_(packages=pins))
    newest = ctx.newest("pytest")
    top = int(newest.split(".")[0]) if newest[:1].isdigit() else 9
    for major in range(top, 6, -1):  # the current major first: "pytest<9" when 9.x is the newest
        if _once(ctx, f"pytest<{major}"):
            pins = tuple(p for p in plan.packages if not p.startswith("pytest==")) + (f"pytest<{major}",)
            return Diagnosis(f"pytest still rejects the project's test configuration ({incompatible.group(0)})",
                             f"an older pytest major (pytest<{major})", replace(plan, packages=pins))
    return None


def _test_rules(plan: SetupPlan, text: str, ctx: Context) -> Diagnosis | None:
    if re.search(r"module 'py' has no attribute|No module named 'py\.", text) and _once(ctx, "pip:py"):
        return Diagnosis("the tests use the retired `py` library beyond the shim pytest still ships",
                         "install py", plan.with_(packages=("py",)))
    if "locale.Error: unsupported locale setting" in text and _once(ctx, "apt:locales-all"):
        return Diagnosis("the tests set a locale the base image does not have (locale.Error)",  # unseen natsort 8.4.0
                         "install the Debian package locales-all (every locale, compiled)", plan.with_(apt=("locales-all",)))
    test, how = _hogging_test(text)
    if test and _once(ctx, f"deselect:{test}"):
        return Diagnosis(f"one test takes the whole run down ({how}): {test}",
                         f"leave {test} out of the test command (--deselect)", plan.with_(test_args=("--deselect", test)))
    wanted: dict[str, str] = {}  # every missing import at once: one rebuild, not one per module
    missing_helper = in_place = ""
    for module in dict.fromkeys(re.findall(r"No module named '([\w.]+)'", text)):
        top = module.split(".")[0]
        if top in ctx.project_modules:
            if "." in module and ctx.native:
                in_place = in_place or module
            continue
        if top in HELPER_MODULES and top not in IMPORT_TO_DIST:
            missing_helper = missing_helper or top
            continue
        dist = _dist_for(module, ctx)
        if dist and dist not in wanted.values() and _once(ctx, f"pip:{dist}"):
            wanted[module] = dist
    if wanted:
        return Diagnosis(f"the tests import {', '.join(wanted)}, which nothing installed",
                         f"install {', '.join(wanted.values())}", plan.with_(packages=tuple(wanted.values())))
    # `pkg._ext` of the project itself: pytest imports the package from the sources in /testbed, where
    # its compiled extension was never built (the build went into site-packages); or tests shipped
    # inside the package are found twice, in /testbed and in site-packages ("import file mismatch")
    editable = re.sub(r"pip install (['\"]?)\.", r"pip install -e \1.", plan.install, count=1)
    twice = "import file mismatch" in text
    if (in_place or twice) and editable != plan.install and _once(ctx, "editable"):
        why = (f"the tests import {in_place} from the sources, where its compiled extension is not built" if in_place
               else "pytest finds the package's tests both in the sources and in site-packages (import file mismatch)")
        return Diagnosis(why, "install the project in place (pip install -e .), so the sources are the package",
                         replace(plan, install=editable))
    wheel = _wheel_instead(plan, text, ctx)
    if wheel is not None:
        return wheel
    if missing_helper and _once(ctx, f"helper:{missing_helper}"):
        return Diagnosis(f"the sources lack the tests' helper module {missing_helper!r} (not shipped in the sdist?)")
    for module in dict.fromkeys(re.findall(r"Failed to import filter module '([\w.]+)'", text)):
        dist = _dist_for(module, ctx)
        if dist and _once(ctx, f"pip:{dist}"):
            return Diagnosis(f"the warning filters name {module}, which nothing installed", f"install {dist}",
                             plan.with_(packages=(dist,)))
        if _once(ctx, "no-filterwarnings"):
            return Diagnosis(f"the warning filters name {module}, which no distribution provides",
                             "drop the configured warning filters in the test command (-o filterwarnings=)",
                             plan.with_(test_args=("-o", "filterwarnings=")))
    for key in dict.fromkeys(re.findall(r"Unknown config option: (\w+)", text)):
        plugin = INI_TO_PLUGIN.get(key, "")
        if plugin and _once(ctx, f"pip:{plugin}"):
            return Diagnosis(f"the test configuration sets {key}, which no installed plugin knows", f"install {plugin}",
                             plan.with_(packages=(plugin,)))
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


def _hogging_test(text: str) -> tuple[str, str]:
    """(test, how) of a run killed for memory, or for time while that one test had taken most of it
    (a suite that is merely slow all through has no single test to leave out); ("", "") otherwise."""
    found = re.search(r"the test run was killed (?:after its timeout \((\d+) s\)|\(exit -?\d+: out of memory\?\))"
                      r" while running ([^\n]+?)(?: \(for (\d+) s\))?$", text, re.M)
    if not found:
        return "", ""
    limit, test, spent = found.groups()
    if limit:
        return (test, f"it ran {spent} s of the run's {limit} s") if spent and int(spent) >= int(limit) / 2 else ("", "")
    return test, "the run was killed for memory while it ran"


def _wheel_instead(plan: SetupPlan, text: str, ctx: Context) -> Diagnosis | None:
    """The project's own compiled module built but does not load against this system's libraries
    (an old release and today's OpenSSL: `undefined symbol: FIPS_mode`): the release's binary wheel
    of the same version, which carries what it links, replaces the build in site-packages."""
    found = re.search(r"ImportError: (\S+\.so)\S*: undefined symbol: (\w+)", text)
    if not (found and ctx.dist and ctx.version) or not _once(ctx, "wheel"):
        return None
    parts = found.group(1).split("/")
    owner = next((p for p in parts if p in ctx.project_modules), "")
    if not owner or "site-packages" not in parts:
        return None
    pin = f"{ctx.dist}=={ctx.version}"
    return Diagnosis(f"the project's compiled module {parts[-1]} does not load here (undefined symbol {found.group(2)})",
                     f"install the release's own binary wheel ({pin}) over the build",
                     replace(plan, install=f"{plan.install} && pip install --force-reinstall --no-deps "
                                           f"--only-binary :all: {pin}"))


def diagnose(plan: SetupPlan, *, build_error: str, build_log: str, baseline: dict | None, reason: str,
             ctx: Context) -> Diagnosis:
    """The next plan after a failed attempt (build error, or a baseline with `reason`), or none."""
    if build_error:
        log = _tail(build_log)
        found = _build_rules(plan, log, ctx)
        why = (build_error if build_error.startswith("build ") else f"build failed: {build_error}")[:300]
        if found is None:
            return Diagnosis(why)
        return Diagnosis(f"{why}; {found.reason}", found.change, found.plan)  # the build's own words, then why
    text = _messages(baseline)
    found = _pytest_rules(plan, text, ctx) or _test_rules(plan, text, ctx)
    if found is None:
        return Diagnosis(reason)
    if found.plan is None:  # no fix, but an explanation worth keeping with the reason
        return Diagnosis(f"{reason}; {found.reason}" if reason else found.reason)
    return Diagnosis(reason or found.reason, found.change, found.plan)
