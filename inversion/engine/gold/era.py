"""Versions "as of" a release: which version of a distribution was the newest on the index at a date.

A 2021 project's conftest was written for the pytest of 2021. The set-up loop pins its test tooling
to those versions (explicit `name==version` pins, so the Dockerfile rebuilds the same later) when
today's versions reject the project. Upload times come from the index's JSON Simple API (PEP 700).
"""

from __future__ import annotations

import json
import urllib.error
from datetime import UTC, datetime

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from inversion.engine.gold.pypi import index_get, normalize

# Python 3.11 (the base image) needs at least these: older releases of the tooling do not import.
FLOORS = {"pytest": Version("6.2.5"), "pytest-cov": Version("2.12.1"), "pytest-mock": Version("3.6.1"),
          "pytest-asyncio": Version("0.16.0"), "pytest-xdist": Version("2.4.0"), "hypothesis": Version("6.21.0"),
          "pytest-timeout": Version("2.0.1")}


def parse_when(text: str) -> datetime | None:
    """An ISO date or time (the index's upload time, a commit date), or None."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    return when if when is None or when.tzinfo else None


class Index:
    """One index's answers, cached for the life of a set-up loop."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._pages: dict[str, dict | None] = {}

    def page(self, name: str) -> dict | None:
        key = normalize(name)
        if key not in self._pages:
            try:
                self._pages[key] = json.loads(index_get(f"{self.url}/{key}/"))
            except (urllib.error.URLError, TimeoutError, OSError, ValueError):
                self._pages[key] = None
        return self._pages[key]

    def exists(self, name: str) -> bool:
        return bool(name) and self.page(name) is not None

    def newest_before(self, name: str, when: datetime) -> Version | None:
        """The highest final release of `name` with a file uploaded by `when`."""
        data = self.page(name) or {}
        best = None
        for f in data.get("files") or []:
            uploaded = parse_when(f.get("upload-time") or "")
            if f.get("yanked") or uploaded is None or uploaded > when:
                continue
            version = _version_of(f.get("filename", ""))
            if version is not None and not version.is_prerelease and (best is None or version > best):
                best = version
        return best

    def newest(self, name: str) -> str:
        """The newest final release of `name` on the index, "" when unknown."""
        version = self.newest_before(name, datetime.now(UTC))
        return str(version) if version else ""

    def pins(self, names: tuple[str, ...], when: datetime | None) -> tuple[str, ...]:
        """`name==version` as of `when` (never below what Python 3.11 needs); () without a date."""
        if when is None:
            return ()
        out = []
        for name in names:
            version = self.newest_before(name, when)
            floor = FLOORS.get(normalize(name))
            if version is not None and floor is not None and version < floor:
                version = floor
            if version is not None:
                out.append(f"{name}=={version}")
        return tuple(out)


def _version_of(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
