"""The error every source fetcher raises for bad input."""

from __future__ import annotations


class SourceError(Exception):
    """Bad input or an unusable source: `field` names the form field (kind, location, ref, name)."""

    def __init__(self, message: str, field: str = "location") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
