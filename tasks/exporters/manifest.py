"""manifest.jsonl: one JSON object per task, sorted by task id, keys sorted."""

from __future__ import annotations

import json

from tasks.exporters.base import TaskExport


def manifest_row(task: TaskExport) -> dict:
    return {
        "task_id": task.export_id,
        "repo": task.repo,
        "source": task.source,
        "source_ref": task.source_ref,
        "category": task.category,
        "tags": list(task.tags),
        "difficulty": task.export_difficulty,
        **task.difficulty_labels(),
        "instruction": task.instruction,
        "instruction_hard": task.instruction_hard,
        "dockerfile": task.dockerfile,
        "FAIL_TO_PASS": list(task.fail_to_pass),
        "PASS_TO_PASS": list(task.pass_to_pass),
        "validation": task.validation,
        "signature": task.signature,
        "fault_count": task.fault_count,
        "token_usage": {
            "prompt": task.prompt_tokens,
            "completion": task.completion_tokens,
            "total": task.prompt_tokens + task.completion_tokens,
        },
        "revision": task.revision,
        "catalog": task.catalog,
        "catalog_version": task.catalog_version,
        "catalog_note": task.catalog_note,
        # What an import needs to make the same task again (`tasks.services.imports`).
        "test_cmd": task.test_cmd,
        "gold_dockerfile": task.gold_dockerfile,
        "repair_script": task.repair_script,
        "integrity": task.integrity,
    }


def manifest_jsonl(tasks: list[TaskExport]) -> bytes:
    rows = [json.dumps(manifest_row(t), sort_keys=True, ensure_ascii=False) for t in sorted(tasks, key=lambda t: t.export_id)]
    return ("\n".join(rows) + "\n").encode()
