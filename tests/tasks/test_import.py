"""Zip import: a studio export comes back; unsafe or unknown archives create nothing."""

import io
import stat
import zipfile

import pytest

from studio.lib.exceptions import ApplicationError
from tasks.exporters import importer
from tasks.models import Task
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tasks.services.exports import catalog_import, export_write
from tests.tasks.catalog_kit import make_gold, make_task

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


def test_round_trip_creates_drafts(tmp_path, root):
    gold = make_gold(tmp_path)
    version = catalog_add_tasks(catalog=catalog_get_or_create(name="main"), tasks=[make_task(gold, "tiny-linking-aaaa")])
    buf = io.BytesIO()
    export_write(version=version, formats=["all"], out=buf)
    version.catalog.delete()
    Task.objects.all().delete()
    buf.seek(0)
    (task,) = catalog_import(fileobj=buf, user=root)
    assert (task.slug, task.state, task.fail_to_pass) == ("tiny-linking-aaaa", "draft", ["tests/test_tiny.py::test_add"])
    assert task.current_revision.instruction == "Tests fail in tiny-linking-aaaa."
    assert task.gold.repository.name == "imported-tiny"


@pytest.mark.parametrize(("members", "symlink", "message"), [
    ({"manifest.jsonl": ROW, "../evil.sh": b"x"}, None, "unsafe path"),
    ({"manifest.jsonl": ROW, "/etc/evil": b"x"}, None, "unsafe path"),
    ({"manifest.jsonl": ROW}, "harbor/link", "symlink"),
    ({"harbor/t/task.toml": b"x"}, None, "unknown format"),
    ({"manifest.jsonl": b'{"task_id": "a"}\n'}, None, "lacks"),
])
def test_unsafe_or_unknown_archives_create_nothing(members, symlink, message):
    with pytest.raises(ApplicationError, match=message):
        catalog_import(fileobj=_zip(members, symlink))
    assert not Task.objects.exists()


def test_oversized_member_is_refused(monkeypatch):
    monkeypatch.setattr(importer, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(ApplicationError, match="bytes"):
        catalog_import(fileobj=_zip({"manifest.jsonl": ROW, "big.bin": b"0" * 5000}))
    assert not Task.objects.exists()


def test_not_a_zip_and_existing_task_are_refused(tmp_path):
    with pytest.raises(ApplicationError, match="not a zip"):
        catalog_import(fileobj=io.BytesIO(b"hello"))
    make_task(make_gold(tmp_path), "x-y-1")
    two_rows = ROW + ROW.replace(b"x-y-1", b"x-y-2")
    with pytest.raises(ApplicationError, match="already exist here: x-y-1"):
        catalog_import(fileobj=_zip({"manifest.jsonl": two_rows}))
    assert not Task.objects.filter(slug="x-y-2").exists()
