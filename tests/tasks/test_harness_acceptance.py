"""Acceptance: an exported catalog scores 100% with oracle and 0% with nop in the real harnesses.

Tasks come from two small projects built into gold images the way the studio lays golds out, with
a known fault (Dockerfile delta) and repair, validated here by hand; then approved into a catalog,
exported as one zip (harbor + tb1 + jsonl) through the CLI, unpacked, and run by Harbor 0.25.0
and Terminal-Bench 0.2.18 (scripts/setup-harnesses). Timings are printed (-s shows them).
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command

from tasks.models import Task, TaskRevision
from tests.factories import GoldFactory, RepositoryFactory
from tests.tasks import harness_kit as kit

pytestmark = [pytest.mark.docker, pytest.mark.harness, pytest.mark.django_db(transaction=True)]


def _make_tasks(client, base, tmp_path) -> list[Task]:
    tasks, gold_dockerfile = [], kit.gold_dockerfile(base)
    for project in kit.PROJECTS:
        snapshot = kit.write_snapshot(project, tmp_path / "sources")
        gold_tag = f"studio-test/harness-gold-{project.name}:1"
        gold_id = kit.build(client, snapshot, gold_dockerfile, gold_tag)
        delta = f'RUN {json.dumps(["/bin/bash", "-c", project.delta])}\n'
        broken_tag = f"studio-test/harness-broken-{project.name}:1"
        kit.build(client, None, f"FROM {gold_tag}\n{delta}", broken_tag)
        ids = project.f2p + project.p2p
        # Validation by hand: gold passes, F2P fail and P2P pass when broken, the repair fixes all.
        assert kit.pytest_outcomes(client, gold_tag, ids) == 0
        assert kit.pytest_outcomes(client, broken_tag, project.f2p) != 0
        assert kit.pytest_outcomes(client, broken_tag, project.p2p) == 0
        assert kit.pytest_outcomes(client, broken_tag, ids, prepare=project.repair) == 0
        repo = RepositoryFactory(name=project.name, snapshot_path=str(snapshot), spec=f"path:{snapshot}")
        gold = GoldFactory(repository=repo, image=gold_tag, image_id=gold_id, dockerfile=gold_dockerfile,
                           test_cmd="python -m pytest")
        task = Task.objects.create(
            slug=f"{project.name}-import-{gold_id[7:13]}", gold=gold, state=Task.State.DRAFT, category="import",
            difficulty="easy", tags=["python"], gold_dockerfile=gold_dockerfile,
            dockerfile=gold_dockerfile + delta, dockerfile_delta=delta, gold_image_id=gold_id,
            fail_to_pass=project.f2p, pass_to_pass=project.p2p, repair_script=project.repair, version=1,
            validation={r: {"ok": True, "detail": "checked by the acceptance test"} for r in ("f2p", "p2p", "nop", "oracle")})
        TaskRevision.objects.create(task=task, number=1, instruction=project.instruction,
                                    instruction_hard=project.instruction)
        tasks.append(task)
    return tasks


def test_exported_catalog_scores_oracle_100_nop_0(docker_client, base_image, root, tmp_path):
    from tests.support.images import ensure_pytest_image

    ensure_pytest_image(docker_client, base_image)  # the gold's pip layer, cached for offline rebuilds
    tasks = _make_tasks(docker_client, base_image, tmp_path)
    call_command("studio", "tasks", "approve", *[t.slug for t in tasks], "--catalog", "acceptance", stdout=io.StringIO())
    out = tmp_path / "acceptance.zip"
    call_command("studio", "catalog", "export", "acceptance", "--format", "all", "--out", str(out), stdout=io.StringIO())
    zipfile.ZipFile(out).extractall(tmp_path / "dataset")
    dataset = tmp_path / "dataset"
    ids = sorted(p.name for p in (dataset / "harbor").iterdir())
    assert len(ids) == 2

    timings = {}
    for agent, want in (("oracle", 1.0), ("nop", 0.0)):
        for task_id in ids:
            rows, seconds = kit.run_harbor(dataset / "harbor" / task_id, agent, tmp_path / "jobs")
            timings[f"harbor {agent} {task_id}"] = round(seconds, 1)
            assert [(r["reward"], r["exception"]) for r in rows] == [(want, None)], rows
        rows, seconds = kit.run_tb(dataset / "tb1", agent, tmp_path / "runs", ids)
        timings[f"tb {agent} (2 tasks)"] = round(seconds, 1)
        assert sorted(r["task"] for r in rows) == ids
        assert all(r["resolved"] is (agent == "oracle") for r in rows), rows
        if agent == "nop":  # the tests ran and failed, rather than the harness breaking
            assert all(r["tests"] for r in rows), rows
    print("harness timings (s):", json.dumps(timings))
