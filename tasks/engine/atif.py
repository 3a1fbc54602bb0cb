"""ATIF trajectories (Harbor's `agent/trajectory.json`) -> chat messages for supervised fine-tuning,
and the CLI-Gym filters: enough steps, no touching of the tests or the project source.

ATIF: {"schema_version", "agent": {"name", "model_name"}, "steps": [{"step_id", "source":
"system"|"user"|"agent", "message": str | [parts], "tool_calls": [{"tool_call_id", "function_name",
"arguments"}], "observation": {"results": [{"source_call_id", "content"}]}}]}.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# A command that writes (redirect, in-place edit, remove, move, copy, patch ...) ...
_WRITES = re.compile(
    r"(>|\btee\b|\bsed\s+-i|\brm\b|\bmv\b|\bcp\b|\btruncate\b|\bpatch\b|\bgit\s+(checkout|apply|"
    r"restore)|\bchmod\b|\bunlink\b|\bln\b|open\([^)]*['\"][wa])"
)
# ... aimed at the tests, the verifier's files or the project checkout.
# (The project source itself is guarded by the verifier's integrity manifest: `tampered_lines`.)
_PROTECTED = re.compile(
    r"(/tests\b|\btests?/|\btest_\w*\.py\b|\b\w*_test\.py\b|\bconftest\.py\b|\bpytest\.ini\b|"
    r"/logs/verifier)"
)


def load(text: str) -> dict | None:
    """The trajectory, or None when it is not ATIF JSON (an agent log, a truncated file)."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("steps"), list) else None


def _text(message: Any) -> str:
    if message is None:
        return ""
    if isinstance(message, str):
        return message
    if isinstance(message, list):  # content parts: keep the text ones
        return "\n".join(str(p.get("text", "")) for p in message if isinstance(p, dict) and p.get("text"))
    return str(message)


DONE_CALL = "mark_task_complete"  # terminus-2's "I am done" pseudo-call: not an action


def _acts(step: dict) -> bool:
    return step.get("source") == "agent" and any(
        c.get("function_name") != DONE_CALL for c in step.get("tool_calls") or []
    )


def step_count(text: str) -> int:
    """Agent turns that acted (ran a command); the CLI-Gym "minimum steps" filter counts these."""
    doc = load(text)
    return sum(1 for s in doc["steps"] if _acts(s)) if doc else 0


def commands(doc: dict) -> list[str]:
    """Every command the agent sent (tool call arguments flattened to text)."""
    out = []
    for step in doc.get("steps", []):
        for call in step.get("tool_calls") or []:
            args = call.get("arguments") or {}
            if isinstance(args, dict):
                out.extend(str(v) for v in args.values() if isinstance(v, str))
            else:
                out.append(str(args))
    return out


def touched_protected(doc: dict) -> list[str]:
    """Commands that look like writes to the tests or the verifier's files: a repair of the
    *environment* never needs them, a reward hack does."""
    hits = []
    for command in commands(doc):
        for line in re.split(r"[\n;&|]+", command):
            if _WRITES.search(line) and _PROTECTED.search(line):
                hits.append(line.strip()[:200])
    return hits


def tampered_lines(verifier_output: str, own: Iterable[str] = ()) -> list[str]:
    """The verifier's `tampered: ...` lines (the gold's integrity manifest no longer holds), except
    those naming a path of `own`, the broken image's own differences from the gold (a fault's
    added shadow is still there in a trial that did not repair it: that is no tampering)."""
    own = set(own)
    lines = [line.strip() for line in verifier_output.splitlines() if line.strip().startswith("tampered:")]
    return [line for line in lines if not (set(line.split()[1:2]) & own)]


def to_messages(doc: dict) -> list[dict]:
    """Chat messages in the OpenAI format: system/user text, assistant turns with their tool calls,
    and a `tool` message answering every call. terminus-2 links an observation to its call only when
    the turn sent one command; unlinked output answers the turn's last call (the terminal after all
    of them), earlier calls get an empty answer, so every call has exactly one reply."""
    messages: list[dict] = []
    for step in doc.get("steps", []):
        source = step.get("source")
        text = _text(step.get("message"))
        if source in ("system", "user"):
            messages.append({"role": source, "content": text})
            continue
        turn: dict[str, Any] = {"role": "assistant", "content": text}
        calls = list(step.get("tool_calls") or [])
        results = (step.get("observation") or {}).get("results") or []
        if not calls:
            messages.append(turn)
            messages.extend({"role": "user", "content": _text(r.get("content"))} for r in results)
            continue
        ids = [c.get("tool_call_id") or f"call_{step.get('step_id')}_{i}" for i, c in enumerate(calls)]
        turn["tool_calls"] = [
            {
                "id": i,
                "type": "function",
                "function": {
                    "name": c.get("function_name", ""),
                    "arguments": json.dumps(c.get("arguments") or {}, sort_keys=True),
                },
            }
            for i, c in zip(ids, calls, strict=True)
        ]
        messages.append(turn)
        answers = {i: [] for i in ids}
        for r in results:
            target = r.get("source_call_id") if r.get("source_call_id") in answers else ids[-1]
            answers[target].append(_text(r.get("content")))
        messages.extend({"role": "tool", "tool_call_id": i, "content": "\n".join(answers[i])} for i in ids)
    return messages


def sft_record(doc: dict, *, task: str, solver: str, model: str, reward: float | None, trial: str) -> dict:
    """One JSONL line: the conversation plus what it came from."""
    return {
        "task_id": task,
        "solver": solver,
        "model": model,
        "reward": reward,
        "trial": trial,
        "steps": sum(1 for s in doc.get("steps", []) if _acts(s)),
        "messages": to_messages(doc),
    }
