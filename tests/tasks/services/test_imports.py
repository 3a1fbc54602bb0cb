"""Zip import: a studio export comes back as the same tasks (export -> import -> export gives the same
bytes); unsafe, unknown or incomplete archives create nothing."""

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from studio.lib.exceptions import ApplicationError
from tasks.exporters import importer
from tasks.models import Catalog, Task
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tasks.services.exports import export_write
from tasks.services.imports import catalog_import
from tests.support.catalog_kit import make_gold, make_task

pytestmark = pytest.mark.django_db


def _zip(members: dict[str, bytes], symlink: str | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    buf.seek(0)
    return buf


ROW = b'{"task_id": "x-y-1", "repo": "x", "category": "y", "difficulty": "easy", "instruction": "i", "dockerfile": "FROM a", "FAIL_TO_PASS": ["t"], "PASS_TO_PASS": []}\n'


def _export(version) -> bytes:
    buf = io.BytesIO()
    export_write(version=version, formats=["all"], out=buf)
    return buf.getvalue()


def _forget_everything():
    from inversion.models import Repository

    Catalog.objects.all().delete()
    Task.objects.all().delete()
    Repository.objects.all().delete()


def test_export_import_export_gives_the_same_bytes(tmp_path, bob):
    gold = make_gold(tmp_path)
    (Path(gold.repository.snapshot_path) / "tests" / "README").symlink_to("../tiny.py")  # a project's own link
    tasks = [make_task(gold, "tiny-shared_library-aaaa"), make_task(gold, "tiny-config-bbbb", category="config")]
    version = catalog_add_tasks(catalog=catalog_get_or_create(name="main"), tasks=tasks, note="first cut")
    first = _export(version)
    _forget_everything()
    imported = catalog_import(fileobj=io.BytesIO(first), user=bob)
    assert sorted(t.slug for t in imported) == ["tiny-config-bbbb", "tiny-shared_library-aaaa"]
    assert all(t.state == "approved" and t.repair_script for t in imported)
    again = Catalog.objects.get(name="main").versions.get()
    assert again.number == version.number
    assert _export(again) == first
    restored = Path(imported[0].gold.repository.snapshot_path)
    assert os.readlink(restored / "tests" / "README") == "../tiny.py"


def test_import_needs_a_reviewer_and_the_build_context(tmp_path, alice, bob):
    gold = make_gold(tmp_path)
    version = catalog_add_tasks(catalog=catalog_get_or_create(name="main"), tasks=[make_task(gold, "tiny-config-aaaa")])
    buf = io.BytesIO()
    export_write(version=version, formats=["jsonl"], out=buf)
    _forget_everything()
    with pytest.raises(ApplicationError, match="Only reviewers"):
        catalog_import(fileobj=io.BytesIO(buf.getvalue()), user=alice)
    with pytest.raises(ApplicationError, match="no harbor/ or tb1/ task directory"):
        catalog_import(fileobj=io.BytesIO(buf.getvalue()), user=bob)
    assert not Task.objects.exists() and not Catalog.objects.exists()


def test_an_existing_catalog_name_is_refused_unless_renamed(tmp_path, bob):
    gold = make_gold(tmp_path)
    version = catalog_add_tasks(catalog=catalog_get_or_create(name="main"), tasks=[make_task(gold, "tiny-config-aaaa")])
    data = _export(version)
    with pytest.raises(ApplicationError, match="already exist here: tiny-config-aaaa"):
        catalog_import(fileobj=io.BytesIO(data), user=bob)
    Catalog.objects.all().delete()
    Task.objects.all().delete()
    catalog_get_or_create(name="main")
    with pytest.raises(ApplicationError, match="a catalog named main exists"):
        catalog_import(fileobj=io.BytesIO(data), user=bob)
    (task,) = catalog_import(fileobj=io.BytesIO(data), user=bob, catalog="restored")
    assert task.catalog_entries.get().version.catalog.name == "restored"


@pytest.mark.parametrize(("members", "symlink", "message"), [
    ({"manifest.jsonl": ROW, "../evil.sh": b"x"}, None, "unsafe path"),
    ({"manifest.jsonl": ROW, "/etc/evil": b"x"}, None, "unsafe path"),
    ({"manifest.jsonl": ROW}, "harbor/link", "symlink in zip outside a build context"),
    ({"manifest.jsonl": ROW}, "harbor/x-y-1/environment/src/link", "points outside its build context"),
    ({"harbor/t/task.toml": b"x"}, None, "unknown format"),
    ({"manifest.jsonl": b'{"task_id": "a"}\n'}, None, "lacks"),
])
def test_unsafe_or_unknown_archives_create_nothing(members, symlink, message, bob):
    with pytest.raises(ApplicationError, match=message):
        catalog_import(fileobj=_zip(members, symlink), user=bob)
    assert not Task.objects.exists()


def test_oversized_member_is_refused(monkeypatch, bob):
    monkeypatch.setattr(importer, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(ApplicationError, match="bytes"):
        catalog_import(fileobj=_zip({"manifest.jsonl": ROW, "big.bin": b"0" * 5000}), user=bob)
    assert not Task.objects.exists()


def test_not_a_zip_and_an_older_manifest_are_refused(bob):
    with pytest.raises(ApplicationError, match="not a zip"):
        catalog_import(fileobj=io.BytesIO(b"hello"), user=bob)
    two_rows = ROW + ROW.replace(b"x-y-1", b"x-y-2")
    with pytest.raises(ApplicationError, match="older studio"):
        catalog_import(fileobj=_zip({"manifest.jsonl": two_rows}), user=bob)
    assert not Task.objects.filter(slug="x-y-2").exists()
