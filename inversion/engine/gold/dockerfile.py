"""Synthesize a gold Dockerfile from the base image and the project's declared test dependencies.

The contract (docs/architecture.md): sources at /testbed, a venv at /opt/venv on PATH, pytest
always installed. Test dependencies come from pyproject extras (test/tests/testing, else dev),
requirements-test*.txt / requirements-dev*.txt (also under requirements/), and tox.ini deps
when nothing else declares them. Only classic-builder syntax: no heredocs.
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from inversion.engine.runtime.trust import TRUST_DIR

TESTBED = "/testbed"
VENV = "/opt/venv"
CA_FILE = "studio-extra-ca.crt"
SOURCE_DIR = "src"  # the snapshot's directory inside the build context
TEST_EXTRAS = ("test", "tests", "testing")
DEV_EXTRAS = ("dev",)


@dataclass
class TestDeps:
    __test__ = False
    extras: list[str] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"extras": self.extras, "requirement_files": self.requirement_files, "packages": self.packages}


def is_installable(root: Path) -> bool:
    return (root / "pyproject.toml").exists() or (root / "setup.py").exists()


def detect_test_deps(root: Path) -> TestDeps:
    deps = TestDeps(extras=_extras(root))
    deps.requirement_files = _requirement_files(root)
    if not deps.extras and not deps.requirement_files:
        files, packages = _tox_deps(root)
        deps.requirement_files, deps.packages = files, packages
    if not deps.extras and not deps.requirement_files and not deps.packages:
        deps.packages = _tests_require(root) or _dependency_group(root)
    return deps


def _usable(requirement: str) -> str:
    """A requirement without the upper bounds an old project pinned (`pytest<5` cannot run on 3.11)."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._\[\]-]*)", requirement)
    if not name or ";" in requirement and "python_version <" in requirement:
        return ""
    return name.group(1)


def _tests_require(root: Path) -> list[str]:
    """setup.cfg `[options] tests_require` or setup.py `tests_require=[...]` (names only)."""
    found: list[str] = []
    setup_cfg = root / "setup.cfg"
    if setup_cfg.exists():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg)
            if parser.has_option("options", "tests_require"):
                found += parser.get("options", "tests_require").split("\n")
        except configparser.Error:
            pass
    setup_py = root / "setup.py"
    if not found and setup_py.exists():
        text = setup_py.read_text(errors="replace")
        block = re.search(r"tests_require\s*=\s*\[([^\]]*)\]", text)
        if block:
            found += re.findall(r"""["']([^"']+)["']""", block.group(1))
    return [n for n in dict.fromkeys(_usable(r) for r in found) if n]


def _dependency_group(root: Path) -> list[str]:
    """PEP 735 `[dependency-groups]` test/tests/testing/dev (plain requirements only)."""
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    groups = data.get("dependency-groups") or {}
    for name in (*TEST_EXTRAS, *DEV_EXTRAS):
        entries = [e for e in groups.get(name) or [] if isinstance(e, str)]
        if entries:
            return [n for n in dict.fromkeys(_usable(e) for e in entries) if n]
    return []


def _extras(root: Path) -> list[str]:
    declared: set[str] = set()
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text())
            declared |= set((data.get("project") or {}).get("optional-dependencies") or {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            pass
    setup_cfg = root / "setup.cfg"
    if setup_cfg.exists():
        parser = configparser.ConfigParser()
        try:
            parser.read(setup_cfg)
            if parser.has_section("options.extras_require"):
                declared |= set(parser["options.extras_require"])
        except configparser.Error:
            pass
    setup_py = root / "setup.py"
    if setup_py.exists() and "extras_require" in (text := setup_py.read_text(errors="replace")):
        declared |= set(re.findall(r"""["'](tests?|testing|dev)["']\s*:""", text))
    for group in (TEST_EXTRAS, DEV_EXTRAS):
        found = [e for e in group if e in declared]
        if found:
            return found[:1]
    return []


def _requirement_files(root: Path) -> list[str]:
    patterns = ("requirements-test*.txt", "requirements_test*.txt", "requirements/test*.txt",
                "test-requirements*.txt", "test_requirements*.txt")
    found = sorted({p.relative_to(root).as_posix() for pat in patterns for p in root.glob(pat)})
    if not found:
        dev = ("requirements-dev*.txt", "requirements_dev*.txt", "requirements/dev*.txt", "dev-requirements*.txt")
        found = sorted({p.relative_to(root).as_posix() for pat in dev for p in root.glob(pat)})
    return _one_per_python(found)


PYTHON = (3, 11)  # the base image's interpreter (Debian 12)
_PER_PYTHON = re.compile(r"^(.*?)[-_.]?(?:py|python)?(3)[._]?(\d{1,2})\.txt$")


def _one_per_python(files: list[str]) -> list[str]:
    """Of files pinned per Python version (`requirements-tests36.txt`, `-tests37`, `-tests39`: pinned
    sets that conflict with each other, so pip refuses them together), the one for the newest
    version up to the image's, else the oldest above it; other files stay."""
    groups: dict[str, list[tuple[tuple[int, int], str]]] = {}
    for name in files:
        found = _PER_PYTHON.match(name)
        if found:
            groups.setdefault(found.group(1), []).append(((int(found.group(2)), int(found.group(3))), name))
    dropped = set()
    for members in (m for m in groups.values() if len(m) > 1):
        fitting = [m for m in members if m[0] <= PYTHON]
        keep = max(fitting)[1] if fitting else min(members)[1]
        dropped |= {name for _, name in members if name != keep}
    return [name for name in files if name not in dropped]


def _tox_deps(root: Path) -> tuple[list[str], list[str]]:
    tox = root / "tox.ini"
    if not tox.exists():
        return [], []
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(tox)
    except configparser.Error:
        return [], []
    if not parser.has_option("testenv", "deps"):
        return [], []
    files, packages = [], []
    for line in parser.get("testenv", "deps").splitlines():
        line = line.split("#")[0].strip()
        factors, sep, rest = line.partition(":")
        if sep and re.fullmatch(r"\w[\w{},.!-]*", factors.strip()) and not rest.startswith("//"):
            if all(re.fullmatch(r"py2\d*", f) for f in _expand(factors.strip())):
                continue  # Python 2 only
            line = rest.strip()  # a factor-conditional dep (py{38,311}: hypothesis): Python 3 takes it
        if not line or "{" in line:
            continue  # substituted deps need tox itself
        if line.startswith("-r"):
            rel = line[2:].strip()
            if (root / rel).is_file():
                files.append(rel)
        elif not line.startswith("-"):
            packages.append(line)
    return files, packages


def _expand(factors: str) -> list[str]:
    """tox factor names of a condition: "py{27,311}-django" -> py27, py311, django."""
    names = []
    for part in re.split(r"[-,](?![^{]*})", factors):
        brace = re.fullmatch(r"(\w*)\{([\w,.]+)\}(\w*)", part)
        names += [f"{brace.group(1)}{x}{brace.group(3)}" for x in brace.group(2).split(",")] if brace else [part]
    return names


def install_command(deps: TestDeps, *, installable: bool = True) -> str:
    """`installable` is False for a bare directory of modules (no pyproject/setup.py)."""
    parts = ["pip", "install"]
    if installable:
        parts.append(shlex.quote("." + (f"[{','.join(deps.extras)}]" if deps.extras else "")))
    for req in deps.requirement_files:
        parts += ["-r", shlex.quote(req)]
    parts += [shlex.quote(p) for p in deps.packages]
    if not any(re.match(r"pytest(?![\w.-])", p) for p in deps.packages):
        parts.append("pytest")
    return " ".join(parts)


@dataclass(frozen=True)
class SetupPlan:
    """What a gold Dockerfile installs, as data the set-up loop can change one step at a time.

    Never an edit of the project's files: packages (pip and Debian), environment, build switches and
    the test command's arguments only.
    """

    install: str  # the project's install command (detected, or the curator's)
    packages: tuple[str, ...] = ()  # more pip requirements: missing test deps, plugins, pins ("pytest<8")
    apt: tuple[str, ...] = ()  # Debian packages (headers, compilers)
    env: tuple[tuple[str, str], ...] = ()  # build and test environment (SETUPTOOLS_SCM_PRETEND_VERSION=...)
    prebuild: tuple[str, ...] = ()  # installed before the project, which then builds without isolation
    test_args: tuple[str, ...] = ()  # appended to the test command

    def with_(self, **changes) -> SetupPlan:
        """A copy with `changes` appended to the tuple fields (kept once, in order) or replacing others.
        Test arguments are kept once per option with its values: `-W a -W b` keeps both `-W` (kept
        once per word, unseen blinker's `-W ignore::PendingDeprecationWarning` lost its flag, and pytest
        took the filter for a test path)."""
        merged = {}
        for key, value in changes.items():
            old = getattr(self, key)
            if key == "test_args":
                merged[key] = tuple(a for group in dict.fromkeys((*_option_groups(old), *_option_groups(value))) for a in group)
            else:
                merged[key] = tuple(dict.fromkeys((*old, *value))) if isinstance(old, tuple) else value
        return replace(self, **merged)

    def as_dict(self) -> dict:
        return {"install": self.install, "packages": list(self.packages), "apt": list(self.apt),
                "env": [list(kv) for kv in self.env], "prebuild": list(self.prebuild), "test_args": list(self.test_args)}


def _option_groups(args) -> list[tuple[str, ...]]:
    """Command-line words grouped as an option and the values after it (`-W`, `ignore::X`)."""
    groups: list[tuple[str, ...]] = []
    for arg in args:
        if groups and not arg.startswith("-") and groups[-1][0].startswith("-"):
            groups[-1] = (*groups[-1], arg)
        else:
            groups.append((arg,))
    return groups


def synthesize(*, base_image: str, install_cmd: str, with_ca: bool) -> str:
    """The first gold Dockerfile; the build context holds `src/` (the snapshot) and the CA file."""
    return render(SetupPlan(install=install_cmd), base_image=base_image, with_ca=with_ca)


def render(plan: SetupPlan, *, base_image: str, with_ca: bool) -> str:
    """The gold Dockerfile of a plan (classic builder syntax: no heredocs)."""
    lines = [f"FROM {base_image}"]
    if with_ca:
        lines += [
            f"COPY {CA_FILE} /usr/local/share/ca-certificates/{CA_FILE}",
            f"RUN cat /usr/local/share/ca-certificates/{CA_FILE} >> /etc/ssl/certs/ca-certificates.crt",
        ]
    if plan.apt:
        lines.append("RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                     f"--no-install-recommends {' '.join(shlex.quote(p) for p in sorted(plan.apt))} && rm -rf /var/lib/apt/lists/*")
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in plan.env)
    lines += [
        f"RUN python3 -m venv {VENV}",
        # the toolbox's bash stays first on PATH (`runtime.trust`): a venv's `bin` is writable
        f"ENV PATH={TRUST_DIR}/bin:{VENV}/bin:$PATH VIRTUAL_ENV={VENV}" + (f" {env}" if env else ""),
        # Without `wheel` old pip falls back to `setup.py install` (egg-info, no RECORD of files).
        "RUN pip install --upgrade pip setuptools wheel",
    ]
    if plan.prebuild:
        lines.append("RUN pip install " + " ".join(shlex.quote(p) for p in plan.prebuild))
    lines += [f"COPY {SOURCE_DIR}/ {TESTBED}/", f"WORKDIR {TESTBED}"]
    install = _one_line(plan.install)
    if plan.prebuild and install.startswith("pip install") and "--no-build-isolation" not in install:
        install = "pip install --no-build-isolation" + install[len("pip install"):]
    extra = " ".join(shlex.quote(p) for p in plan.packages)
    lines.append(f"RUN {install}" + (f" && pip install {extra}" if extra else ""))
    return "\n".join(lines) + "\n"


def plan_test_command(base: str, plan: SetupPlan) -> str:
    """The test command of a plan: the base command with the plan's arguments appended."""
    return " ".join([base, *(shlex.quote(a) for a in plan.test_args)])


def _one_line(cmd: str) -> str:
    """A multi-line override becomes one RUN with `&&` (classic builder has no heredocs)."""
    steps = [ln.strip() for ln in cmd.strip().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return " && ".join(steps)
