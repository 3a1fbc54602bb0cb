"""PyPI sources come from the index's JSON API, checked against its sha256, and nothing in them
runs on the studio host: an sdist whose build backend writes a file is fetched, and no file appears."""

from __future__ import annotations

from pathlib import Path

import pytest

from inversion.models import Repository
from inversion.services.repositories import repository_add_spec
from studio.lib.exceptions import ApplicationError

pytestmark = pytest.mark.django_db
TESTS = {"tests/test_it.py": "def test_it():\n    assert True\n"}


def _hostile(marker: Path) -> dict[str, str]:
    """An sdist with an in-tree build backend that writes `marker` the moment anything builds it."""
    backend = (f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran on the host')\n"
               "def get_requires_for_build_sdist(config_settings=None):\n    return []\n"
               "def get_requires_for_build_wheel(config_settings=None):\n    return []\n")
    return {**TESTS, "backend.py": backend, "setup.py": backend,
            "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'}


def test_an_sdist_is_fetched_without_running_its_code(package_index, tmp_path):
    marker = tmp_path / "pwned"
    sha = package_index.add_sdist("evilpkg", "1.0", _hostile(marker), uploaded="2021-06-01T12:00:00Z")
    repo, created = repository_add_spec(spec="pypi:evilpkg==1.0")
    assert created and repo.resolved == sha and repo.summary["uploaded"] == "2021-06-01T12:00:00Z"
    assert (Path(repo.snapshot_path) / "backend.py").exists()
    assert not marker.exists()  # the build backend never ran


def test_a_download_that_does_not_match_the_index_hash_is_refused(package_index):
    package_index.add_sdist("badhash", "2.0", TESTS, corrupt=True)
    with pytest.raises(ApplicationError, match=r"badhash-2.0.tar.gz: sha256 .* does not match the index's"):
        repository_add_spec(spec="pypi:badhash==2.0")
    assert not Repository.objects.exists()


def test_unknown_package_and_version_are_specific_errors(package_index):
    package_index.add_sdist("known", "1.0", TESTS, uploaded="2020-01-01T00:00:00Z")
    package_index.add_sdist("known", "1.1", TESTS, uploaded="2020-02-01T00:00:00Z")
    with pytest.raises(ApplicationError, match="package 'nosuch' was not found on the index") as exc:
        repository_add_spec(spec="pypi:nosuch==1.0")
    assert exc.value.extra["field"] == "location"
    with pytest.raises(ApplicationError, match=r"known has no source distribution for version '9.9' \(latest: 1.0, 1.1\)"):
        repository_add_spec(spec="pypi:known==9.9")
