"""Export zips: byte-identical per version, complete formats, refusals that name the tasks."""

import hashlib
import io
import json
import tomllib
import zipfile

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from studio.lib.exceptions import ApplicationError
from tasks.models import CatalogVersion, Export, Task
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tasks.services.exports import export_run, export_start, export_write
from tests.support.catalog_kit import make_gold, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(tmp_path, root):
    gold = make_gold(tmp_path)
    tasks = [make_task(gold, "tiny-linking-aaaa", instruction="Same text."),
             make_task(gold, "tiny-path-bbbb", instruction="Same text.", category="path", difficulty="easy")]
    return catalog_add_tasks(catalog=catalog_get_or_create(name="main", user=root), tasks=tasks, user=root)


def _zip(version, formats=("all",)) -> bytes:
    buf = io.BytesIO()
    export_write(version=version, formats=list(formats), out=buf)
    return buf.getvalue()


def test_same_version_gives_identical_bytes_with_fixed_metadata(version):
    first, second = _zip(version), _zip(version)
    assert first == second
    zf = zipfile.ZipFile(io.BytesIO(first))
    names = zf.namelist()
    assert names == sorted(names)
    for info in zf.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        mode = info.external_attr >> 16 & 0o777
        assert mode == (0o755 if info.filename.endswith(".sh") else 0o644), info.filename


def test_zip_carries_every_format_card_and_checksums(version):
    zf = zipfile.ZipFile(io.BytesIO(_zip(version)))
    names = set(zf.namelist())
    root = "harbor/tiny-linking-aaaa/"
    verifier = ("tests/verify.py", "tests/verify_native.py", "tests/verifier.json", "tests/bootstrap.sha256",
                "tests/studio_pytest_plugin.py")
    for part in ("task.toml", "instruction.md", "environment/Dockerfile", "environment/src/tiny.py",
                 "environment/src/tests/test_tiny.py", "tests/test.sh", "solution/solve.sh", *verifier):
        assert root + part in names
    assert not any("__pycache__" in n for n in names)
    assert not any(n.startswith(f"{root}environment/tests") or n.startswith(f"{root}environment/solution") for n in names)
    toml = tomllib.loads(zf.read(root + "task.toml").decode())
    assert toml["metadata"]["category"] == "shared_library" and toml["task"]["name"] == "main/tiny-linking-aaaa"
    test_sh = zf.read(root + "tests/test.sh").decode()
    assert 'MODE=harbor' in test_sh and "sha256sum -c -" in test_sh and "verify.py\" check" in test_sh
    config = json.loads(zf.read(root + "tests/verifier.json"))
    assert config["fail_to_pass"] == ["tests/test_tiny.py::test_add"] and config["pass_to_pass"] == []
    assert config["grade_cmd"].startswith("PYTHONDONTWRITEBYTECODE=1 PYTHONPATH={support}")
    assert "python -m pytest --continue-on-collection-errors -p studio_pytest_plugin" in config["grade_cmd"]

    tb = "tb1/tiny-linking-aaaa/"
    for part in ("task.yaml", "Dockerfile", "docker-compose.yaml", "run-tests.sh", "solution.sh",
                 "environment/Dockerfile", "environment/src/tiny.py", *verifier):
        assert tb + part in names
    assert "MODE=tb" in zf.read(tb + "run-tests.sh").decode()
    assert zf.read(tb + "tests/verifier.json") == zf.read(root + "tests/verifier.json")
    spec = yaml.safe_load(zf.read(tb + "task.yaml"))
    assert spec["parser_name"] == "pytest" and spec["difficulty"] == "medium"
    other = yaml.safe_load(zf.read("tb1/tiny-path-bbbb/task.yaml"))
    assert spec["instruction"] != other["instruction"]  # equal texts were made unique for tb

    rows = [json.loads(line) for line in zf.read("manifest.jsonl").decode().splitlines()]
    assert [r["task_id"] for r in rows] == ["tiny-linking-aaaa", "tiny-path-bbbb"]
    assert rows[0]["FAIL_TO_PASS"] == ["tests/test_tiny.py::test_add"] and rows[0]["catalog_version"] == 1
    assert rows[0]["token_usage"]["total"] == 15 and rows[0]["source_ref"] == "abc123"
    assert rows[0]["validation"] == {"rules": {"oracle": {"ok": True, "detail": "passed"}}, "runs": 5}
    assert rows[0]["fault_count"] == 1 and "signature" in rows[0]  # the fault signature travels with the task

    card = zf.read("README.md").decode()
    assert "| shared_library | 1 |" in card and "| easy (estimated) | 1 |" in card and "| tiny | 2 |" in card
    sums = dict(line.split("  ")[::-1] for line in zf.read("SHA256SUMS").decode().splitlines())
    assert set(sums) == names - {"SHA256SUMS"}
    assert all(hashlib.sha256(zf.read(n)).hexdigest() == h for n, h in sums.items())


def test_only_chosen_formats(version):
    names = zipfile.ZipFile(io.BytesIO(_zip(version, ["jsonl"]))).namelist()
    assert names == ["README.md", "SHA256SUMS", "manifest.jsonl"]
    with pytest.raises(ApplicationError, match="unknown export format"):
        _zip(version, ["swebench"])


def test_refusals_name_the_tasks(version, root):
    Task.objects.filter(slug="tiny-path-bbbb").update(gold_image_id="sha256:old")
    with pytest.raises(ApplicationError, match="stale.*tiny-path-bbbb"):
        _zip(version)
    empty = CatalogVersion.objects.create(catalog=version.catalog, number=9)
    with pytest.raises(ApplicationError, match="empty"):
        _zip(empty)


def test_export_job_records_progress_and_result(version, root, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.STUDIO_EXPORTS_DIR = tmp_path / "exports"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        export = export_start(version=version, formats=["harbor", "jsonl"], user=root)
    export.refresh_from_db()
    assert (export.status, export.progress, export.message) == ("done", 100, "2 tasks")
    data = (tmp_path / "exports" / "main-v1-harbor-jsonl.zip").read_bytes()
    assert export.sha256 == hashlib.sha256(data).hexdigest() and export.size == len(data)

    Task.objects.filter(slug="tiny-linking-aaaa").update(state=Task.State.IN_REVIEW)
    failed = Export.objects.create(version=version, formats=["jsonl"])
    with pytest.raises(ApplicationError):
        export_run(export=failed)
    failed.refresh_from_db()
    assert failed.status == "failed" and "tiny-linking-aaaa" in failed.error


def test_cli_export_and_tasks_list(version, tmp_path):
    out = io.StringIO()
    target = tmp_path / "cat.zip"
    call_command("studio", "--json", "catalog", "export", "main", "--format", "all", "--out", str(target), stdout=out)
    data = json.loads(out.getvalue())
    assert data["tasks"] == 2 and data["version"] == 1 and target.read_bytes() == _zip(version)
    out = io.StringIO()
    call_command("studio", "--json", "tasks", "list", "--state", "approved", stdout=out)
    assert [t["slug"] for t in json.loads(out.getvalue())["tasks"]] == ["tiny-linking-aaaa", "tiny-path-bbbb"]
    with pytest.raises(CommandError, match="no catalog named nope"):
        call_command("studio", "catalog", "export", "nope", "--format", "all", "--out", str(target))


def test_cli_approve_submits_approves_and_versions(tmp_path, root):
    gold = make_gold(tmp_path)
    draft = make_task(gold, "tiny-linking-cccc", state=Task.State.DRAFT)
    out = io.StringIO()
    call_command("studio", "--json", "tasks", "approve", str(draft.pk), "--catalog", "fresh", stdout=out)
    data = json.loads(out.getvalue())
    draft.refresh_from_db()
    assert draft.state == "approved" and data == {"catalog": "fresh", "version": 1, "approved": [draft.pk], "entries": 1,
                                                "near_duplicates": []}
    with pytest.raises(CommandError, match="no such task: 999"):
        call_command("studio", "tasks", "approve", "999", "--catalog", "fresh")


def test_difficulty_says_whether_it_was_measured_and_by_whom(version):
    Task.objects.filter(slug="tiny-linking-aaaa").update(
        measured_difficulty="hard", measured_by=["terminus-2:openai/gpt-x (strong) 1/4"])
    Task.objects.filter(slug="tiny-path-bbbb").update(
        measured_difficulty="unsolved", measured_by=["terminus-2:openai/gpt-x (strong) 0/4"])
    zf = zipfile.ZipFile(io.BytesIO(_zip(version)))
    meta = tomllib.loads(zf.read("harbor/tiny-linking-aaaa/task.toml").decode())["metadata"]
    assert (meta["difficulty"], meta["difficulty_source"], meta["difficulty_estimated"]) == ("hard", "measured", "medium")
    assert meta["measured_by"] == ["terminus-2:openai/gpt-x (strong) 1/4"]
    unsolved = yaml.safe_load(zf.read("tb1/tiny-path-bbbb/task.yaml"))
    assert (unsolved["difficulty"], unsolved["difficulty_source"], unsolved["measured_difficulty"]) == (
        "easy", "estimated", "unsolved")  # the estimate stays, labelled as one; the task is flagged unsolved
    rows = {r["task_id"]: r for r in map(json.loads, zf.read("manifest.jsonl").decode().splitlines())}
    assert rows["tiny-linking-aaaa"]["difficulty_source"] == "measured"
    assert rows["tiny-path-bbbb"]["measured_difficulty"] == "unsolved"
    assert "| hard (measured) | 1 |" in zf.read("README.md").decode()
