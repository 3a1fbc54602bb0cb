"""The shape CLI handlers return: JSON data for --json, text for people, an exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CliResult:
    data: Any = field(default_factory=dict)
    text: str = ""
    exit_code: int = 0


def table(rows: list[dict], columns: list[str]) -> str:
    """Rows as aligned text columns (for people; `--json` gives the data). Empty for no rows."""
    if not rows:
        return ""
    cells = [[("-" if r.get(c) is None else str(r.get(c))).replace("\n", " ")[:80] for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)
