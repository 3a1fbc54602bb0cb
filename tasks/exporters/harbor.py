"""Harbor / Terminal-Bench 2.0 task directories (`harbor run --path harbor/<id>`)."""

from __future__ import annotations

import tomli_w

from tasks.exporters.base import SCRIPT, Files, TaskExport, path_line, text, verifier_files

SCHEMA_VERSION = "1.4"

# Merged by Harbor over its own compose files: only the *build* uses the host network (as the gold
# build does: pip installs the test tooling then); the container keeps Harbor's network mode. The
# verifier's toolbox (a static bash first on the image's PATH, busybox for run.sh) comes from a
# read-only volume that Docker fills from the image (a named one: Docker refuses a read-only
# anonymous volume): the agent, root in the container, cannot change the `bash` Harbor's `bash -c`
# finds, nor the shell and tools run.sh runs with.
BUILD_OVERRIDE = """services:
  main:
    build:
      network: host
    volumes:
      - studio-trust:/studio-trust:ro
volumes:
  studio-trust: {}
"""


def task_toml(task: TaskExport) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "task": {
            "name": f"{task.catalog or 'studio'}/{task.export_id}",
            "version": f"{task.catalog_version}.{task.revision}.0",
            "description": f"Repair the {task.repo} environment so its failing tests pass again.",
        },
        "metadata": {
            "author_name": task.author_name,
            "author_email": task.author_email,
            "difficulty": task.export_difficulty,
            **task.difficulty_labels(),
            "category": task.category,
            "tags": list(task.tags),
            "source": task.source,
        },
        "verifier": {"timeout_sec": float(task.test_timeout_sec + 120)},  # the test run, then the checks
        "agent": {"timeout_sec": float(task.agent_timeout_sec)},
        "environment": {"build_timeout_sec": float(task.build_timeout_sec), "cpus": 1, "memory_mb": 2048},
    }
    return tomli_w.dumps(doc)


def solve_sh(task: TaskExport) -> str:
    """The validated repair script, run by bash with the gold's PATH (see `path_line`)."""
    script = task.repair_script.strip("\n")
    if script.startswith("#!"):
        script = script.split("\n", 1)[1] if "\n" in script else ""
    return f"#!/bin/bash\n{path_line(task)}\nexport PAGER=cat GIT_PAGER=cat\n{script}"


def harbor_files(task: TaskExport, prefix: str) -> Files:
    root = f"{prefix}{task.export_id}/"
    files: Files = {f"{root}environment/{name}": item for name, item in task.context.items()}
    files.update({
        f"{root}task.toml": text(task_toml(task)),
        f"{root}instruction.md": text(task.instruction),
        f"{root}environment/Dockerfile": text(task.dockerfile),
        f"{root}environment/docker-compose.yaml": text(BUILD_OVERRIDE),
        f"{root}tests/test.sh": text(task.harbor_test_sh, SCRIPT),
        **verifier_files(task, f"{root}tests/"),
        f"{root}solution/solve.sh": text(solve_sh(task), SCRIPT),
    })
    return files
