"""`studio repo add` and `studio gold build --json` through the management command."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.paths import FIXTURES


def _studio(*args: str) -> dict:
    out = io.StringIO()
    call_command("studio", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_repo_add_json_is_idempotent_and_errors_are_one_line(tmp_path):
    src = tmp_path / "cli-lib"
    shutil.copytree(FIXTURES / "gold_broken", src)
    first = _studio("repo", "add", f"path:{src}")
    assert first["name"] == "cli-lib" and first["source"] == f"path:{src}" and first["created"] is True
    again = _studio("repo", "add", f"path:{src}")
    assert again["id"] == first["id"] and again["created"] is False
    with pytest.raises(CommandError, match="is not a directory"):
        _studio("repo", "add", f"path:{src}/nothing")
    with pytest.raises(CommandError, match="no repository 'ghost'"):
        _studio("gold", "build", "ghost")


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_gold_build_json(docker_client, base_image, tmp_path):
    src = tmp_path / "cli-gold"
    shutil.copytree(FIXTURES / "gold_flaky", src)
    repo = _studio("repo", "add", f"path:{src}")
    data = _studio("gold", "build", str(repo["id"]))
    assert data["repo"] == repo["id"] and data["status"] == "ready" and data["image"].startswith("studio-gold/")
    assert data["baseline"] == {"passed": 3, "failed": 0, "skipped": 1, "flaky": 1, "error": 0, "order_dependent": 0, "total": 5}
    cached = _studio("gold", "build", "cli-gold")
    assert cached["id"] == data["id"] and cached["cached"] is True
