"""Turn an episode's kept steps into Dockerfile lines: the broken Dockerfile is the gold's plus
these. Plain Python, no Django."""

from __future__ import annotations

import json
from typing import Any


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
    """(full broken Dockerfile, the delta text alone)."""
    text = "\n".join(delta_lines(delta))
    return gold_dockerfile.rstrip("\n") + "\n" + text + "\n", text + "\n"
