"""Task rows for the catalog, export and import tests (a gold with a real snapshot directory)."""

from __future__ import annotations

from pathlib import Path

from tasks.models import Task, TaskRevision
from tests.factories import GoldFactory, RepositoryFactory

GOLD_DOCKERFILE = "FROM local/bookworm-py:base3\nCOPY src/ /testbed/\nWORKDIR /testbed\n"


def local_manifest(snapshot: Path) -> dict:
    """A real verifier manifest, taken of the snapshot on this machine by the verifier's own walker
    (the shape `collect_gold` gives; the export tests need no container)."""
    import importlib.util
    import json
    import subprocess
    import sys

    from inversion.engine.runtime.integrity import COLLECT, VERIFY

    spec = importlib.util.spec_from_file_location("studio_verify", VERIFY)
    verify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verify)
    entries, derived = verify.walk([str(snapshot)])
    files = json.loads(subprocess.run([sys.executable, "-I", "-S", str(COLLECT), "imports"], capture_output=True,
                                      text=True, check=True).stdout)
    sums = subprocess.run(["sha256sum", *files], capture_output=True, text=True, check=True).stdout
    return {"roots": [str(snapshot)], "entries": entries, "derived": derived, "volatile": [], "volatile_dirs": [],
            "interpreter": "/opt/venv/bin/python", "interpreter_name": "python",
            "verifier_python": str(Path(sys.executable).resolve()),
            "bootstrap": sums}


def make_gold(tmp_path: Path, name: str = "tiny", **kwargs):
    snapshot = tmp_path / f"snap-{name}"
    (snapshot / "tests").mkdir(parents=True)
    (snapshot / "tiny.py").write_text("def add(a, b):\n    return a + b\n")
    (snapshot / "tests" / "test_tiny.py").write_text("from tiny import add\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    (snapshot / "__pycache__").mkdir()
    (snapshot / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    repo = RepositoryFactory(name=name, snapshot_path=str(snapshot), resolved="abc123")
    return GoldFactory(repository=repo, image_id="sha256:gold1", dockerfile=GOLD_DOCKERFILE,
                       integrity=local_manifest(snapshot), **kwargs)


def make_task(gold, slug: str, *, state: str = Task.State.APPROVED, instruction: str | None = None,
              category: str = "shared_library", difficulty: str = "medium") -> Task:
    task = Task.objects.create(
        slug=slug, gold=gold, state=state, category=category, difficulty=difficulty, tags=["python"],
        gold_dockerfile=gold.dockerfile, dockerfile=gold.dockerfile + 'RUN ["/bin/bash", "-c", "rm -f /testbed/tiny.py"]\n',
        dockerfile_delta="", gold_image_id=gold.image_id, fail_to_pass=["tests/test_tiny.py::test_add"],
        pass_to_pass=[], validation={"rules": {"oracle": {"ok": True, "detail": "passed"}}, "runs": 5, "issue_writer": {"source": "writer"}},
        repair_script="printf 'def add(a, b):\\n    return a + b\\n' > /testbed/tiny.py", version=1,
        prompt_tokens=10, completion_tokens=5)
    TaskRevision.objects.create(task=task, number=1, instruction=instruction or f"Tests fail in {slug}.",
                                instruction_hard="Tests fail.")
    return task
