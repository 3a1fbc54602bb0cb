"""Catalog pages: catalogs, approved tasks to add, versions, export with progress and download."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator
from tasks import review_selectors as sel
from tasks.models import Catalog, CatalogVersion, Export, Task
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tasks.services.exports import export_start


def catalog_list(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("repository", "category", "difficulty", "tag")}
    approved = list(sel.task_filtered(state=Task.State.APPROVED, **filters))[:500]
    return render(request, "tasks/catalog_list.html", {
        "catalogs": list(Catalog.objects.all()), "approved": approved, "filters": filters, "facets": sel.task_facets(),
        "can_add": is_curator(request.user),
    })


def catalog_detail(request: HttpRequest, catalog_id: int) -> HttpResponse:
    version = request.GET.get("version")
    try:
        context = sel.catalog_detail(catalog_id=catalog_id, version=int(version) if version else None)
    except (Catalog.DoesNotExist, ValueError) as exc:
        raise Http404("No such catalog") from exc
    template = "tasks/catalog_detail.html"
    if getattr(request, "htmx", None) and request.GET.get("part") == "exports":
        template = "tasks/partials/export_list.html"
    return render(request, template, context)


@require_POST
def catalog_add(request: HttpRequest) -> HttpResponse:
    if not is_curator(request.user):
        raise PermissionDenied("Only curators change catalogs.")
    ids = [int(i) for i in request.POST.getlist("task") if i.isdigit()]
    name = request.POST.get("catalog", "").strip()
    try:
        catalog = catalog_get_or_create(name=name or "main", user=request.user)
        catalog_add_tasks(catalog=catalog, tasks=list(Task.objects.filter(pk__in=ids)), user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("catalog_list")
    messages.success(request, f"Added {len(ids)} task(s) to {catalog.name}: a new version was made.")
    return redirect("catalog_detail", catalog_id=catalog.pk)


@require_POST
def catalog_export(request: HttpRequest, version_id: int) -> HttpResponse:
    try:
        version = sel.catalog_version_get(version_id=version_id)
    except CatalogVersion.DoesNotExist as exc:
        raise Http404("No such catalog version") from exc
    try:
        export_start(version=version, formats=request.POST.getlist("format") or ["harbor"], user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Export started; progress shows below.")
    return redirect(reverse("catalog_detail", args=[version.catalog_id]) + f"?version={version.number}")


def catalog_export_download(request: HttpRequest, export_id: int) -> FileResponse:
    export = Export.objects.filter(pk=export_id, status=Export.Status.DONE).first()
    if export is None or not export.path:
        raise Http404("No finished export")
    path = Path(export.path).resolve()
    root = Path(settings.STUDIO_EXPORTS_DIR).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404("Export file missing")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
