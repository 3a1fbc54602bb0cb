"""Fixtures of the campaign tests: small local projects as sources and a live worker lease per engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone


def make_project(root: Path, name: str) -> Path:
    """A tiny project whose tests import a stdlib module and the package (targets for the built-in agent)."""
    src = root / name
    (src / name).mkdir(parents=True)
    (src / "tests").mkdir()
    (src / name / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (src / "tests" / "test_add.py").write_text(
        f"import json\nfrom {name} import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        f"def test_json():\n    assert json.loads(json.dumps({{'a': add(1, 1)}})) == {{'a': 2}}\n")
    (src / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1"\n[build-system]\nrequires = ["setuptools"]\n'
        f'build-backend = "setuptools.build_meta"\n[tool.setuptools]\npackages = ["{name}"]\n')
    return src


@pytest.fixture
def projects(tmp_path):
    return [make_project(tmp_path, name) for name in ("calca", "calcb")]


@pytest.fixture
def lease(db):
    """Register a live worker (another host: judged by its lease alone) on an engine."""
    from inversion.models import Worker

    def make(engine: str, key: str = "") -> Worker:
        key = key or f"elsewhere:{Worker.objects.count() + 1}:1"
        return Worker.objects.create(key=key, hostname="elsewhere", pid=1, kind="celery", engine=f"tcp://{engine}:2375",
                                     engine_id=engine, heartbeat_at=timezone.now())
    return make
