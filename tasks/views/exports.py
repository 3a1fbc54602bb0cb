"""Exports of a catalog version: start one (progress shows on the catalog page), download the zip."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from studio.lib.exceptions import ApplicationError
from tasks.selectors.catalogs import catalog_version_by_id
from tasks.selectors.exports import export_download_path
from tasks.services.exports import export_start


@require_POST
def catalog_export(request: HttpRequest, version_id: int) -> HttpResponse:
    try:
        version = catalog_version_by_id(version_id=version_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    try:
        export_start(version=version, formats=request.POST.getlist("format") or ["harbor"], user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Export started; progress shows below.")
    return redirect(reverse("catalog_detail", args=[version.catalog_id]) + f"?version={version.number}")


def export_download(request: HttpRequest, export_id: int) -> FileResponse:
    try:
        path = export_download_path(export_id=export_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
