"""The one domain error type; entry points turn it into HTTP, CLI or UI messages."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A failure a user can understand and act on (bad input, missing prerequisite, refused action).

    `message` is shown to people as is; `extra` carries structured detail (field errors, ids)
    that forms, the JSON API and the CLI may render.
    """

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
