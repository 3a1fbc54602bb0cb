"""The layout rules a newcomer relies on: imports run one way (import-linter contracts in
pyproject.toml), every app has the same shape, and no module grows past 400 lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

APPS = ("inversion", "tasks", "campaigns")
SHAPE = ("views/__init__.py", "selectors/__init__.py", "services/__init__.py", "forms/__init__.py",
         "cli/__init__.py", "jobs.py", "urls.py", "models.py")
FLAT = ("views.py", "selectors.py", "services.py", "forms.py")


def _modules() -> list[Path]:
    return [p for app in ("studio", *APPS) for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


def test_imports_run_one_way():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize("app", APPS)
def test_every_app_has_the_same_shape(app):
    root = ROOT / app
    assert [part for part in SHAPE if not (root / part).exists()] == []
    assert [name for name in FLAT if (root / name).exists()] == []


def test_no_module_is_longer_than_400_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _modules()}
    assert {name: n for name, n in sizes.items() if n >= 400} == {}
