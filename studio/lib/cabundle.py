"""The extra CA bundle (STUDIO_EXTRA_CA_BUNDLE) baked into images that pip-install through a proxy."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def extra_ca_bundle() -> bytes:
    """The bundle's bytes, or b"" when none is set (or the file is gone)."""
    path = settings.STUDIO_EXTRA_CA_BUNDLE
    return Path(path).read_bytes() if path and Path(path).is_file() else b""
