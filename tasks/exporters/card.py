"""README.md dataset card: what is inside, counts, and how the tasks were made and validated."""

from __future__ import annotations

from collections import Counter

from tasks.exporters.base import TaskExport

LAYOUT = {
    "harbor": "`harbor/<task_id>/`: Harbor / Terminal-Bench 2.0 (`harbor run --path harbor/<task_id>`)",
    "tb1": "`tb1/<task_id>/`: Terminal-Bench 1.0 (`tb run --dataset-path tb1 --task-id <task_id>`)",
    "jsonl": "`manifest.jsonl`: one JSON object per task (FAIL_TO_PASS, PASS_TO_PASS, validation, tokens)",
}


def _table(title: str, counts: Counter) -> str:
    rows = "\n".join(f"| {key} | {n} |" for key, n in sorted(counts.items()))
    return f"### By {title}\n\n| {title} | tasks |\n|---|---|\n{rows}\n"


def _diversity(tasks: list[TaskExport]) -> str:
    """Fault families (each layer of a compound task counts), distinct signatures, compound share."""
    fams = Counter(la.get("kind", "") for t in tasks for la in (t.signature or {}).get("layers") or [])
    signed = [t for t in tasks if t.signature]
    keys = {t.signature.get("key") for t in signed}
    compound = sum(1 for t in tasks if t.fault_count > 1)
    lines = [f"{len(keys)} distinct fault signatures among {len(signed)} signed tasks; "
             f"{compound} compound task(s) with more than one fault to repair."]
    return "\n".join(lines) + "\n\n" + (_table("fault family", fams) if fams else "")


def dataset_card(*, catalog: str, version: int, note: str, tasks: list[TaskExport], formats: list[str]) -> str:
    f2p = sum(len(t.fail_to_pass) for t in tasks)
    p2p = sum(len(t.pass_to_pass) for t in tasks)
    n = len(tasks)
    layout = "\n".join(f"- {LAYOUT[f]}" for f in formats)
    return f"""# {catalog} v{version}

{note or "Environment-repair tasks for terminal agents."}

{n} tasks from {len({t.repo for t in tasks})} repositories; {f2p / n:.1f} FAIL_TO_PASS and
{p2p / n:.1f} PASS_TO_PASS tests per task on average.

## Layout

{layout}
- `SHA256SUMS`: checksums of every other file (`sha256sum -c SHA256SUMS`).
- Unpack with a tool that keeps Unix file modes (`unzip`, `bsdtar`): Python's `zipfile.extractall`
  drops them, and a project script that loses its executable bit fails the verifier's integrity
  check (`tampered: ... changed`).

## Counts

{_table("repo", Counter(t.repo for t in tasks))}
{_table("category", Counter(t.category for t in tasks))}
{_table("difficulty", Counter(f"{t.export_difficulty} ({t.difficulty_source})" for t in tasks))}
{_diversity(tasks)}
## How the tasks were made

Each repository was built into a *gold* environment (source at `/testbed`, a virtualenv at
`/opt/venv`) whose unit tests pass. An inversion agent, guided by test results, appended
commands to the gold Dockerfile that degrade the environment until tests that passed now fail
(the CLI-Gym method). The broken Dockerfile, the failing tests and an issue text written from
the symptoms form a task: make these tests pass again. People reviewed and approved every task.

## How they were validated

1. The broken image rebuilds from the exported Dockerfile alone (the build context carries the
   source snapshot; no download of the project is needed).
2. FAIL_TO_PASS tests pass in gold and fail in the broken image in every run; flaky tests are
   excluded. PASS_TO_PASS tests pass in both and are graded too.
3. The task's verifier gives reward 0 on the untouched broken image (nop) and 1 after the
   validated repair script (oracle), which ships as the solution.
4. Every generic reward hack of the studio's library (a shadow `pytest.py`, `.pth` and
   sitecustomize exit hooks, conftest and entry-point plugins that force a pass, an interpreter
   wrapper, gutted test files, a reward-writing background job, an `ld.so.preload` hook, a
   poisoned stdlib `.pyc`) scores 0.
5. The issue text describes symptoms, not the cause.

The verifier (`tests/verify.py`, `tests/verifier.json`) is tamper-evident: it stops every process
the agent left running, checks its own interpreter against `tests/bootstrap.sha256`, then compares
the project at `/testbed`, the Python environment that runs the tests and the shared libraries it
loads with the gold's manifest (content hashes), and checks that the loader's cache and
`/etc/nsswitch.conf` still send Python to the gold's libraries (`tests/verify_native.py`).
Anything added, removed or changed fails the run with a line naming it
(`tampered: /testbed/pytest.py added`). Only then does it run the gold's test command and read the
FAIL_TO_PASS and PASS_TO_PASS outcomes from JUnit XML in a private directory; a task scores 1 only
if every one of them passes. A repair must therefore restore what it changes under `/testbed` and
in the Python environment exactly, not rewrite or reinstall it.

What it trusts: the verifier runs inside the task's container. Its shell and tools are a statically
linked bash and busybox in `/studio-trust`, first on the image's PATH and mounted from a read-only
volume (the Harbor and Terminal-Bench compose files), so the `bash` Harbor starts it with is not one
the agent can change. It trusts the kernel and the dynamic loader. Terminal-Bench 1.0 types the test
command into a login shell that reads the agent's profile and PATH first, so there a replaced or
shadowed `bash` can still forge a reward; a harness that grades in a container the agent never
wrote closes that.
"""
