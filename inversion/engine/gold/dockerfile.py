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
from dataclasses import dataclass, field
from pathlib import Path

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
    return deps


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
    return found


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
        if not line or "{" in line or ":" in line.split()[0]:
            continue  # factor-conditional or substituted deps need tox itself
        if line.startswith("-r"):
            rel = line[2:].strip()
            if (root / rel).is_file():
                files.append(rel)
        elif not line.startswith("-"):
            packages.append(line)
    return files, packages


def install_command(deps: TestDeps, *, installable: bool = True) -> str:
    """`installable` is False for a bare directory of modules (no pyproject/setup.py)."""
    parts = ["pip", "install"]
    if installable:
        parts.append(shlex.quote("." + (f"[{','.join(deps.extras)}]" if deps.extras else "")))
    for req in deps.requirement_files:
        parts += ["-r", shlex.quote(req)]
    parts += [shlex.quote(p) for p in deps.packages]
    if not any(re.match(r"pytest\b", p) for p in deps.packages):
        parts.append("pytest")
    return " ".join(parts)


def synthesize(*, base_image: str, install_cmd: str, with_ca: bool) -> str:
    """The gold Dockerfile; the build context holds `src/` (the snapshot) and the CA file."""
    lines = [f"FROM {base_image}"]
    if with_ca:
        lines += [
            f"COPY {CA_FILE} /usr/local/share/ca-certificates/{CA_FILE}",
            f"RUN cat /usr/local/share/ca-certificates/{CA_FILE} >> /etc/ssl/certs/ca-certificates.crt",
        ]
    lines += [
        f"RUN python3 -m venv {VENV}",
        f"ENV PATH={VENV}/bin:$PATH VIRTUAL_ENV={VENV}",
        # Without `wheel` old pip falls back to `setup.py install` (egg-info, no RECORD of files).
        "RUN pip install --upgrade pip setuptools wheel",
        f"COPY {SOURCE_DIR}/ {TESTBED}/",
        f"WORKDIR {TESTBED}",
        f"RUN {_one_line(install_cmd)}",
    ]
    return "\n".join(lines) + "\n"


def _one_line(cmd: str) -> str:
    """A multi-line override becomes one RUN with `&&` (classic builder has no heredocs)."""
    steps = [ln.strip() for ln in cmd.strip().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return " && ".join(steps)
