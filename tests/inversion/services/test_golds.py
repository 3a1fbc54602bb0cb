"""Gold builds on the real Docker engine from small fixture repositories (local path sources)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from inversion.engine.runtime import labels as lbl
from inversion.models import GoldEnvironment
from inversion.services.golds import gold_build
from inversion.services.repositories import repository_add, repository_update_overrides
from tests.support.paths import FIXTURES


def _add(tmp_path: Path, fixture: str):
    src = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, src)
    repo, _ = repository_add(kind="path", location=str(src))
    return repo


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_gold_baseline_flaky_surface_and_reuse(docker_client, base_image, tmp_path):
    repo = _add(tmp_path, "gold_flaky")
    gold = gold_build(repository=repo)
    assert gold.status == GoldEnvironment.Status.READY, gold.error
    baseline = gold.baseline
    assert baseline["flaky"] == ["test_flaky.py::test_flips"]
    assert baseline["tests"]["test_flaky.py::test_flips"]["outcomes"] == ["passed", "failed"]
    assert sorted(baseline["stable_passing"]) == [
        "test_flaky.py::test_adds", "test_flaky.py::test_calls_executable", "test_flaky.py::test_sqlite",
    ]
    assert baseline["counts"] == {"passed": 3, "failed": 0, "error": 0, "skipped": 1, "flaky": 1, "order_dependent": 0, "total": 5}
    assert len(baseline["runs"]) >= settings.STUDIO_BASELINE_RUNS

    surface = gold.surface
    assert {"name": "test_flaky", "file": "/testbed/test_flaky.py"} in surface["modules"]["project"]
    assert "sqlite3" in surface["modules"]["stdlib"]
    assert any(s["dist"] == "pytest" for s in surface["modules"]["site"])
    sqlite = [lib for lib in surface["shared_libs"] if lib["name"].startswith("libsqlite3")]
    assert sqlite and sqlite[0]["package"] == "libsqlite3-0"
    assert {"name": "true", "path": "/usr/bin/true", "count": 1} in surface["executables"]
    # The call map (one more, profiled run): subprocess.run is called by one test of the four that ran.
    assert surface["calls"]["tests"] == 4 and "call map:" in gold.build_log
    assert {"module": "subprocess", "function": "run", "tests": 1} in [
        {k: r[k] for k in ("module", "function", "tests")} for r in surface["calls"]["functions"]]
    assert surface["calls"]["modules"].get("subprocess") == 1  # and so does its module, counted whole

    image = docker_client.images.get(gold.image)
    assert image.labels[lbl.KIND] == "gold" and image.labels[lbl.MANAGED] == "1"
    assert gold.dockerfile.startswith(f"FROM {settings.STUDIO_BASE_IMAGE}\n")
    assert gold.log_events.count() >= 1 and "baseline run 2/2" in gold.build_log

    again = gold_build(repository=repo)
    assert again.pk == gold.pk and again.cached  # unchanged sources: no rebuild, no new baseline

    repository_update_overrides(repository=repo, install_cmd="", test_cmd="python -m pytest -k 'not flips'",
                                dockerfile_override="")
    changed = gold_build(repository=repo)  # same image, new test command: a new baseline on the reused image
    assert changed.pk != gold.pk and changed.image == gold.image and changed.reused
    assert changed.status == GoldEnvironment.Status.READY and changed.baseline["flaky"] == []


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_gold_with_no_passing_tests_fails_with_the_reason(docker_client, base_image, tmp_path):
    gold = gold_build(repository=_add(tmp_path, "gold_broken"))
    assert gold.status == GoldEnvironment.Status.FAILED
    assert gold.error == "0 of 2 tests pass: ModuleNotFoundError: No module named 'studio_missing_dependency'"
    assert gold.baseline["counts"]["failed"] == 2
