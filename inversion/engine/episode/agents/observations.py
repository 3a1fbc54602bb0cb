"""What the built-in agent reads off an observation: the step's exit code, and failure messages and
error lines with the parts that differ between runs masked (so "another error" means another kind)."""

from __future__ import annotations

import re
from typing import NamedTuple

from inversion.engine.episode.agents.base import Observation


class Seen(NamedTuple):
    """What failed under the layers laid, as the last test run showed it: named, since each of
    the agent's checks reads another part (a positional tuple of five, read by index in five places)."""

    newly: frozenset[str] = frozenset()  # the tests that newly fail
    total: int = 0  # how many (the observation lists only some)
    messages: dict[str, str] = {}  # a failing test's message (read only)
    errors: frozenset[str] = frozenset()  # the kinds of error lines the run printed
    chain: frozenset[str] = frozenset()  # the modules a failed import went through


def seen_in(last: Observation) -> Seen:
    """What a test run's observation shows failed."""
    newly = frozenset(last.payload.get("newly_failing") or [])
    tail = last.payload.get("output_tail") or ""
    return Seen(newly, last.payload.get("newly_failing_total") or len(newly), dict(last.payload.get("messages") or {}),
                frozenset(error_kinds(tail)), frozenset(import_chain(tail)))


def exit_code(last: Observation) -> int | None:
    """The exit code of the step behind an observation (a mutating command is followed by a test
    run, whose observation carries the command's payload as `after`)."""
    if last.kind == "command":
        return last.payload.get("exit_code")
    if last.kind == "tests":
        return (last.payload.get("after") or {}).get("exit_code")
    return None


def gist(message: str) -> str:
    """A failure message without addresses and numbers (they differ between runs)."""
    text = (message or "").strip()
    return re.sub(r"0x[0-9a-f]+|\d+", "#", text.splitlines()[-1] if text else "")


def error_kinds(output: str) -> set[str]:
    """The kinds of error a test run printed (`E   ModuleNotFoundError: No module named 'x'`)."""
    return {gist(line) for line in output.splitlines() if re.search(r"\w(Error|Exception|Warning)\b", line)}


FRAME = re.compile(r"^(\S+\.py):\d+: in <module>$")


def import_chain(output: str) -> set[str]:
    """The modules a test file's failed import went through (pytest's collection traceback: each
    `path.py:N: in <module>` frame), by dotted name under the interpreter's library directory
    (`asyncio`, `asyncio.base_events`, `concurrent.futures`), else by file stem. A fault in one of them
    acts before the error that stopped the import, so it can show on top of it."""
    out = set()
    for line in output.splitlines():
        m = FRAME.match(line.strip())
        if not m:
            continue
        path = m.group(1)
        rel = re.split(r"/lib/python3\.\d+/(?:(?:site|dist)-packages/)?", path)[-1]
        name = rel[:-3].removesuffix("/__init__").replace("/", ".")
        out.add(name if rel != path else name.rsplit(".", 1)[-1])
    return out
