"""Lenient JSON recovery for small models that wrap, decorate or slightly break their JSON.

Small local models often answer a tool call with prose, a fenced ```json block, trailing commas,
single quotes or Python literals. We try a few cheap repairs, in order of how safe they are,
and give up with `None` (the caller then feeds a clear error back to the model).
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON|js|javascript|python)?\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def parse_json_leniently(text: str) -> dict | None:
    """Best-effort: the first JSON object found in `text`, or None when none can be recovered."""
    if not text or not text.strip():
        return None
    for candidate in _candidates(text):
        value = _parse_one(candidate)
        if isinstance(value, dict):
            return value
    return None


def _candidates(text: str) -> list[str]:
    stripped = text.strip()
    found = [stripped]
    found.extend(block.strip() for block in _FENCE.findall(text))
    found.extend(_balanced_objects(text))
    return found


def _parse_one(candidate: str) -> Any:
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            return json.loads(attempt)
        except (ValueError, RecursionError):
            pass
        try:
            # Single quotes, True/False/None and trailing commas are all valid Python literals.
            return ast.literal_eval(attempt)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
    return _parse_json_literals(candidate)


def _parse_json_literals(candidate: str) -> Any:
    """JSON with Python-style quotes mixed with JSON literals (true/false/null): map and retry."""
    mapped = re.sub(r"\btrue\b", "True", candidate)
    mapped = re.sub(r"\bfalse\b", "False", mapped)
    mapped = re.sub(r"\bnull\b", "None", mapped)
    if mapped == candidate:
        return None
    try:
        return ast.literal_eval(_TRAILING_COMMA.sub(r"\1", mapped))
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def _balanced_objects(text: str, limit: int = 8) -> list[str]:
    """Substrings from each `{` to its matching `}` (string-aware), outermost first."""
    out: list[str] = []
    start = text.find("{")
    while start != -1 and len(out) < limit:
        end = _matching_brace(text, start)
        if end is None:
            break
        out.append(text[start : end + 1])
        start = text.find("{", end + 1)
    return out


def _matching_brace(text: str, start: int) -> int | None:
    depth = 0
    quote = ""
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None
