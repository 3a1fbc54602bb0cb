"""Catalog pages: catalogs and approved tasks to add, one catalog at a version, adding tasks."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator, is_reviewer, require_curator
from tasks.forms.solver_runs import AGENTS, SolverRunForm
from tasks.selectors.catalogs import catalog_detail, catalog_get_by_id, catalog_list_page
from tasks.selectors.diversity import catalog_diversity
from tasks.services.catalogs import catalog_add_by_ids


def catalog_list(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("repository", "category", "difficulty", "tag", "measured")}
    context = {**catalog_list_page(filters=filters), "can_add": is_curator(request.user)}
    return render(request, "tasks/catalog_list.html", context)


def catalog_detail_view(request: HttpRequest, catalog_id: int) -> HttpResponse:
    try:
        context = catalog_detail(catalog_id=catalog_id, version=request.GET.get("version"),
                                 measured=request.GET.get("measured", ""))
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    context.update(solve_form=SolverRunForm(), agents=AGENTS, can_solve=is_curator(request.user) or is_reviewer(request.user))
    template = "tasks/catalog_detail.html"
    if getattr(request, "htmx", None) and request.GET.get("part") == "exports":
        template = "tasks/partials/export_list.html"
    return render(request, template, context)


@require_POST
def catalog_add(request: HttpRequest) -> HttpResponse:
    require_curator(request.user, "change catalogs")
    ids = [int(i) for i in request.POST.getlist("task") if i.isdigit()]
    try:
        catalog, warnings = catalog_add_by_ids(name=request.POST.get("catalog", "").strip() or "main", task_ids=ids,
                                               user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("catalog_list")
    messages.success(request, f"Added {len(ids)} task(s) to {catalog.name}: a new version was made.")
    for w in warnings:
        messages.warning(request, twin_message(w["task"], w["twin"], w["similarity"]))
    return redirect("catalog_detail", catalog_id=catalog.pk)


def twin_message(task, twin, similarity: float):
    """A warning naming both tasks, the twin linked (slugs are escaped by format_html)."""
    return format_html('{} is a near-duplicate of <a href="{}">{}</a> (similarity {}).', task.slug,
                       reverse("task_detail", args=[twin.pk]), twin.slug, similarity)


def catalog_diversity_view(request: HttpRequest, catalog_id: int) -> HttpResponse:
    """The diversity report of a catalog version: what a dataset owner publishes next to the data."""
    try:
        catalog = catalog_get_by_id(catalog_id=catalog_id)
        version = request.GET.get("version")
        report = catalog_diversity(catalog=catalog, number=int(version) if (version or "").isdigit() else None)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return render(request, "tasks/catalog_diversity.html", {"catalog": catalog, "report": report})
