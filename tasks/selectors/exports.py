"""Reads of exports: the file a finished export may be downloaded from."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from studio.lib.exceptions import ApplicationError
from tasks.models import Export


def export_download_path(*, export_id: int) -> Path:
    """The zip of a finished export, only if it lies inside STUDIO_EXPORTS_DIR (a CLI export may
    have been written anywhere; the web serves only its own directory)."""
    export = Export.objects.filter(pk=export_id, status=Export.Status.DONE).first()
    if export is None or not export.path:
        raise ApplicationError("no finished export")
    path = Path(export.path).resolve()
    root = Path(settings.STUDIO_EXPORTS_DIR).resolve()
    if root not in path.parents or not path.is_file():
        raise ApplicationError("the export file is missing")
    return path
