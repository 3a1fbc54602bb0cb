"""The shape CLI handlers return: JSON data for --json, text for people, an exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CliResult:
    data: Any = field(default_factory=dict)
    text: str = ""
    exit_code: int = 0
