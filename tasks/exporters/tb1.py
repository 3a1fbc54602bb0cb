"""Terminal-Bench 1.0 task directories (`tb run --dataset-path tb1 --task-id <id>`)."""

from __future__ import annotations

import yaml

from tasks.exporters.base import SCRIPT, Files, TaskExport, text, verifier_files
from tasks.exporters.harbor import solve_sh

COMPOSE = """services:
  client:
    build:
      context: environment
      dockerfile: Dockerfile
      network: host
    image: ${T_BENCH_TASK_DOCKER_CLIENT_IMAGE_NAME}
    container_name: ${T_BENCH_TASK_DOCKER_CLIENT_CONTAINER_NAME}
    command: [ "sh", "-c", "sleep infinity" ]
    init: true
    environment:
      - TEST_DIR=${T_BENCH_TEST_DIR}
    volumes:
      - ${T_BENCH_TASK_LOGS_PATH}:${T_BENCH_CONTAINER_LOGS_PATH}
      - ${T_BENCH_TASK_AGENT_LOGS_PATH}:${T_BENCH_CONTAINER_AGENT_LOGS_PATH}
      - studio-trust:/studio-trust:ro
volumes:
  studio-trust: {}
"""


def task_yaml(task: TaskExport, instruction: str) -> str:
    doc = {
        "instruction": instruction,
        "author_name": task.author_name,
        "author_email": task.author_email,
        "difficulty": task.export_difficulty,
        **task.difficulty_labels(),
        "category": task.category,
        "tags": list(task.tags),
        "parser_name": "pytest",
        "max_agent_timeout_sec": float(task.agent_timeout_sec),
        "max_test_timeout_sec": float(task.test_timeout_sec + 120),
        "run_tests_in_same_shell": False,
        "disable_asciinema": True,
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def unique_instructions(tasks: list[TaskExport]) -> dict[str, str]:
    """tb finds a task's solution by its instruction text, so equal texts get their id appended."""
    seen: dict[str, int] = {}
    for task in tasks:
        seen[task.instruction.strip()] = seen.get(task.instruction.strip(), 0) + 1
    return {
        t.export_id: t.instruction.strip() + (f"\n\n(Task {t.export_id}.)" if seen[t.instruction.strip()] > 1 else "")
        for t in tasks
    }


def tb1_files(task: TaskExport, prefix: str, instruction: str) -> Files:
    """The image builds from `environment/` (Dockerfile + source snapshot), so a `COPY .` in the
    Dockerfile never ships solution.sh or the graders into the image; `Dockerfile` at the top is the
    same file, for readers."""
    root = f"{prefix}{task.export_id}/"
    files: Files = {f"{root}environment/{name}": item for name, item in task.context.items()}
    files.update({
        f"{root}task.yaml": text(task_yaml(task, instruction)),
        f"{root}Dockerfile": text(task.dockerfile),
        f"{root}environment/Dockerfile": text(task.dockerfile),
        f"{root}docker-compose.yaml": text(COMPOSE),
        f"{root}run-tests.sh": text(task.tb_run_tests, SCRIPT),
        **verifier_files(task, f"{root}tests/"),
        f"{root}solution.sh": text(solve_sh(task), SCRIPT),
    })
    return files
