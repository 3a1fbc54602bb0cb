"""Turn an episode's kept steps into Dockerfile lines: the broken Dockerfile is the gold's plus
these. Plain Python, no Django."""

from __future__ import annotations

import json
from typing import Any

from inversion.engine.runtime.trust import TRUST_DIR


def delta_lines(delta: list[dict[str, Any]]) -> list[str]:
    """Dockerfile lines for the kept steps, in order. RUN uses the exec form so any command
    (quotes, newlines, heredocs) survives exactly; a command that failed in the episode is
    wrapped so its partial effect is kept and the build goes on, as it did in the container."""
    lines = []
    for step in delta:
        if "env" in step:
            lines.append(f"ENV {step['env']}={json.dumps(step['value'])}")
            continue
        command = step["run"] if step.get("ok", True) else f"(\n{step['run']}\n) || true"
        lines.append("RUN " + json.dumps(["/bin/bash", "-c", command]))
    return lines


def broken_dockerfile(gold_dockerfile: str, delta: list[dict[str, Any]]) -> tuple[str, str]:
    """(full broken Dockerfile, the delta text alone). A delta that sets PATH is followed by a line
    that puts the verifier's toolbox first again, on a gold whose PATH has it (`runtime.trust`):
    a directory a fault put ahead is writable, and a `bash` there is what a harness would run."""
    text = "\n".join(delta_lines(delta))
    trust = f"{TRUST_DIR}/bin:"
    keep = [f"ENV PATH={trust}$PATH"] if trust in gold_dockerfile and any(s.get("env") == "PATH" for s in delta) else []
    return gold_dockerfile.rstrip("\n") + "\n" + "\n".join([text, *keep]) + "\n", text + "\n"
