"""What a command changed in the episode container: the overlay upper dir when the engine is
local (exact, fast), else `docker diff` plus a look at the command text."""

from __future__ import annotations

import os
import re

from inversion.engine.runtime.sandbox import Sandbox

# A second write to an already-changed path leaves `docker diff` unchanged; keep such commands.
WRITE_HINT = re.compile(
    r"(>|\btee\b|\bsed\s+-i|\brm\b|\bmv\b|\bcp\b|\bchmod\b|\bchown\b|\bln\b|\btruncate\b|\bdd\b|"
    r"\bpip\b|\btouch\b|\bmkdir\b|\bunlink\b|\binstall\b|\bpatch\b|\bperl\s+-[a-z]*i|write)"
)


def upper_dir(box: Sandbox) -> str | None:
    """The container's overlay upper dir when the engine is local (fast, exact change detection)."""
    try:
        box.container.reload()
        upper = box.container.attrs["GraphDriver"]["Data"]["UpperDir"]
    except (KeyError, TypeError, AttributeError):
        return None
    return upper if upper and os.path.isdir(upper) else None


def upper_fingerprint(upper: str) -> dict[str, tuple]:
    """Every entry of the upper dir with its change time, size and mode: a second write to an
    already-changed file shows here, where `docker diff` (paths only) would miss it."""
    found: dict[str, tuple] = {}
    stack = [upper]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[entry.path[len(upper):] or "/"] = (st.st_ctime_ns, st.st_mtime_ns, st.st_size, st.st_mode)
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return found


def changed_paths(before, after) -> set[str]:
    if isinstance(after, dict):
        return {p for p, v in after.items() if before.get(p) != v} | (set(before) - set(after))
    return {p for p, _ in set(after) ^ set(before)}
