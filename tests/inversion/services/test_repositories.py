"""Adding repositories from each kind of source, and the specific errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from inversion.models import Repository
from inversion.services.repositories import parse_spec, repository_add, repository_add_spec
from studio.lib.exceptions import ApplicationError


@pytest.mark.django_db
def test_git_source_resolves_the_ref_to_a_commit(bare_repo):
    url, first, second = bare_repo
    repo, created = repository_add(kind="git", location=url, ref="v1")
    assert created and repo.resolved == first and repo.name == "proj"
    snapshot = Path(repo.snapshot_path)
    assert (snapshot / "test_a.py").exists() and not (snapshot / "test_b.py").exists()
    assert not (snapshot / ".git").exists()
    assert snapshot.parent == Path(settings.STUDIO_SOURCES_DIR)
    branch, _ = repository_add(kind="git", location=url, ref="main", name="proj-main")
    assert branch.resolved == second and (Path(branch.snapshot_path) / "test_b.py").exists()


@pytest.mark.django_db
def test_git_errors_are_specific_and_leave_nothing(bare_repo, tmp_path):
    url, *_ = bare_repo
    with pytest.raises(ApplicationError, match="ref 'nope' does not exist") as exc:
        repository_add(kind="git", location=url, ref="nope")
    assert exc.value.extra["field"] == "ref"
    with pytest.raises(ApplicationError, match="could not clone") as exc:
        repository_add(kind="git", location=f"file://{tmp_path}/missing.git", ref="main")
    assert exc.value.extra["field"] == "location"
    assert Repository.objects.count() == 0
    assert [p for p in Path(settings.STUDIO_SOURCES_DIR).iterdir() if p.name.startswith(".fetch-")] == []


@pytest.mark.django_db
def test_local_path_source_and_its_errors(tmp_path):
    src = tmp_path / "mylib"
    src.mkdir()
    (src / "test_it.py").write_text("def test_it():\n    pass\n")
    repo, created = repository_add(kind="path", location=str(src))
    assert created and repo.name == "mylib" and repo.spec == f"path:{src}"
    assert repo.summary["test_files"] == ["test_it.py"] and len(repo.resolved) == 64
    (src / "test_it.py").write_text("changed later")
    assert (Path(repo.snapshot_path) / "test_it.py").read_text().startswith("def test_it")

    with pytest.raises(ApplicationError, match="is not a directory"):
        repository_add(kind="path", location=str(src / "test_it.py"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "module.py").write_text("x = 1\n")
    with pytest.raises(ApplicationError, match="no tests found"):
        repository_add(kind="path", location=str(empty))
    assert Repository.objects.count() == 1


@pytest.mark.django_db
def test_add_is_idempotent_and_names_must_not_clash(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name / "lib").mkdir(parents=True)
        (tmp_path / name / "lib" / "test_x.py").write_text("def test_x():\n    pass\n")
    first, created = repository_add_spec(spec=f"path:{tmp_path}/a/lib")
    again, created_again = repository_add_spec(spec=f"path:{tmp_path}/a/lib/")
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(ApplicationError, match="already exists") as exc:
        repository_add_spec(spec=f"path:{tmp_path}/b/lib")
    assert exc.value.extra["field"] == "name"
    other, _ = repository_add_spec(spec=f"path:{tmp_path}/b/lib", name="lib-b")
    assert other.name == "lib-b" and Repository.objects.count() == 2


@pytest.mark.django_db
def test_pypi_unknown_package_and_unknown_version():
    with pytest.raises(ApplicationError, match="was not found") as exc:
        repository_add(kind="pypi", location="studio-surely-no-such-package-4711", ref="1.0")
    assert exc.value.extra["field"] == "location"
    with pytest.raises(ApplicationError, match="no source distribution for version '99.99.99'") as exc:
        repository_add(kind="pypi", location="six", ref="99.99.99")
    assert exc.value.extra["field"] == "ref"
    assert Repository.objects.count() == 0


def test_spec_parsing():
    assert parse_spec("pypi:six==1.16.0") == ("pypi", "six", "1.16.0")
    assert parse_spec("git:file:///srv/x.git@v1.2") == ("git", "file:///srv/x.git", "v1.2")
    assert parse_spec("path:/srv/code") == ("path", "/srv/code", "")
    with pytest.raises(ApplicationError):
        parse_spec("svn:whatever")
    with pytest.raises(ApplicationError):
        parse_spec("git:file:///srv/x.git")
