"""Harbor / Terminal-Bench 2.0 task directories (`harbor run --path harbor/<id>`)."""

from __future__ import annotations

import tomli_w

from tasks.exporters.base import SCRIPT, Files, TaskExport, path_line, run_pytest_lines, test_ids_file, text

SCHEMA_VERSION = "1.4"

# Merged by Harbor over its own compose files: only the *build* uses the host network (as the gold
# build does: pip installs the test tooling then); the container keeps Harbor's network mode.
BUILD_OVERRIDE = """services:
  main:
    build:
      network: host
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
            "difficulty": task.difficulty,
            "category": task.category,
            "tags": list(task.tags),
            "source": task.source,
        },
        "verifier": {"timeout_sec": float(task.test_timeout_sec)},
        "agent": {"timeout_sec": float(task.agent_timeout_sec)},
        "environment": {"build_timeout_sec": float(task.build_timeout_sec), "cpus": 1, "memory_mb": 2048},
    }
    return tomli_w.dumps(doc)


def test_sh(task: TaskExport) -> str:
    """Always leaves /logs/verifier/reward.txt: 0 first, 1 only when every graded test passed."""
    body = "\n".join(f"  {line}" for line in run_pytest_lines(task, "/tests/test_ids.txt"))
    return f"""#!/bin/bash
# Harbor verifier: runs the FAIL_TO_PASS and PASS_TO_PASS tests (exact pytest node ids in
# /tests/test_ids.txt) with the environment's own interpreter. A missing reward file is a
# harness error, so the 0 is written before anything can fail.
mkdir -p /logs/verifier
echo 0 > /logs/verifier/reward.txt
(
{body}
)
rc=$?
echo "pytest exit code: $rc"
if [ "$rc" -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; fi
exit 0
"""


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
        f"{root}tests/test.sh": text(test_sh(task), SCRIPT),
        f"{root}tests/test_ids.txt": test_ids_file(task),
        f"{root}solution/solve.sh": text(solve_sh(task), SCRIPT),
    })
    return files
