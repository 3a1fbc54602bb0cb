"""The record every exporter reads, and the file map they write into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# arcname -> (content, mode); modes are 0o644 for data and 0o755 for scripts; a symbolic link is
# LINK with its target as the content (a project's `docs/README.md -> ../README.md`: the gold build
# sent it as a link, so the rebuilt image must hold the same link or the verifier finds it changed).
Files = dict[str, tuple[bytes, int]]

DATA = 0o644
SCRIPT = 0o755
LINK = 0o120777
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
    verifier: dict[str, bytes] = field(default_factory=dict)  # tests/: verify.py, verifier.json, ...
    integrity: dict[str, Any] = field(default_factory=dict)  # the task's part of the verifier's manifest
    signature: dict[str, Any] = field(default_factory=dict)  # fault signature (layers, env, paths, key, label)
    fault_count: int = 1
    measured_difficulty: str = ""  # from solver runs: easy|medium|hard|unsolved; "" = not measured
    measured_by: list[str] = field(default_factory=list)  # "agent:model (strength) passed/trials"
    harbor_test_sh: str = ""  # the verifier's entry point for Harbor (tests/test.sh)
    tb_run_tests: str = ""  # ... and for Terminal-Bench (run-tests.sh)
    author_name: str = "Task Studio"
    author_email: str = "studio@example.invalid"
    agent_timeout_sec: float = 900.0
    test_timeout_sec: float = 300.0
    build_timeout_sec: float = 900.0

    @property
    def difficulty_source(self) -> str:
        """"measured" when solver runs graded the task easy/medium/hard, else "estimated" (a guess)."""
        return "measured" if self.measured_difficulty in ("easy", "medium", "hard") else "estimated"

    @property
    def export_difficulty(self) -> str:
        """The difficulty field of the formats (easy|medium|hard): the measurement when there is one."""
        return self.measured_difficulty if self.difficulty_source == "measured" else self.difficulty

    def difficulty_labels(self) -> dict:
        """What says where the difficulty came from (an unsolved task keeps its estimate, flagged)."""
        labels: dict[str, Any] = {"difficulty_source": self.difficulty_source}
        if self.measured_difficulty:
            labels.update(measured_difficulty=self.measured_difficulty, measured_by=list(self.measured_by))
        if self.difficulty_source == "measured":
            labels["difficulty_estimated"] = self.difficulty
        return labels

    @property
    def test_ids(self) -> list[str]:
        return sorted(set(self.fail_to_pass) | set(self.pass_to_pass))


def text(value: str, mode: int = DATA) -> tuple[bytes, int]:
    """A text file with a single trailing newline."""
    return (value.rstrip("\n") + "\n").encode(), mode


def path_line(task: TaskExport) -> str:
    """tb runs scripts in a tmux login shell, whose /etc/profile drops the image's ENV PATH: put the
    gold's venv first again so the solution uses the same interpreter as in validation."""
    return f'export PATH="{task.venv_bin}:$PATH"'


def verifier_files(task: TaskExport, root: str) -> Files:
    """The tamper-evident verifier's files under `root` (the tests directory): its program, the
    gold's manifest with the grading config, the bootstrap sums and the pytest plugin."""
    return {f"{root}{name}": (data, DATA) for name, data in sorted(task.verifier.items())}
