"""The record every exporter reads, and the file map they write into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# arcname -> (content, mode); modes are 0o644 for data and 0o755 for scripts.
Files = dict[str, tuple[bytes, int]]

DATA = 0o644
SCRIPT = 0o755
FORMATS = ("harbor", "tb1", "jsonl")


@dataclass(frozen=True)
class TaskExport:
    """One frozen catalog entry, flattened from the task, its revision, gold and repository."""

    export_id: str
    repo: str
    source: str
    source_ref: str
    category: str
    difficulty: str
    tags: list[str]
    instruction: str
    instruction_hard: str
    dockerfile: str
    context: Files
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    repair_script: str
    test_cmd: str = "python -m pytest"
    workdir: str = "/testbed"
    venv_bin: str = "/opt/venv/bin"
    validation: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    revision: int = 0
    catalog: str = ""
    catalog_version: int = 0
    catalog_note: str = ""
    gold_dockerfile: str = ""
    author_name: str = "Task Studio"
    author_email: str = "studio@example.invalid"
    agent_timeout_sec: float = 900.0
    test_timeout_sec: float = 300.0
    build_timeout_sec: float = 900.0

    @property
    def test_ids(self) -> list[str]:
        return sorted(set(self.fail_to_pass) | set(self.pass_to_pass))


def text(value: str, mode: int = DATA) -> tuple[bytes, int]:
    """A text file with a single trailing newline."""
    return (value.rstrip("\n") + "\n").encode(), mode


def test_ids_file(task: TaskExport) -> tuple[bytes, int]:
    """Exact pytest node ids, one a line: read with mapfile so ids with spaces stay whole."""
    return text("\n".join(task.test_ids))


def path_line(task: TaskExport) -> str:
    """tb runs scripts in a tmux login shell, whose /etc/profile drops the image's ENV PATH: put the
    gold's venv first again so tests and solutions use the same interpreter as in validation."""
    return f'export PATH="{task.venv_bin}:$PATH"'


def run_pytest_lines(task: TaskExport, ids_path: str) -> list[str]:
    """Shell lines running the graded tests with the gold's interpreter (/opt/venv first on PATH)."""
    return [
        path_line(task),
        "export PAGER=cat GIT_PAGER=cat PYTHONDONTWRITEBYTECODE=1",
        f"cd {task.workdir}",
        f'mapfile -t ids < "{ids_path}"',
        f'{task.test_cmd} -rA -p no:cacheprovider -o addopts="" --color=no "${{ids[@]}}"',
    ]
