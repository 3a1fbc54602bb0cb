"""Solver runs: start one from the catalog page, its live page (htmx polls every 2 s), cancel,
a trial's trajectory, and the catalog's trajectories as SFT JSONL or raw ATIF files."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator, is_reviewer
from tasks.forms.solver_runs import SolverRunForm
from tasks.selectors.catalogs import catalog_get_by_id, catalog_version_by_id
from tasks.selectors.solver_runs import solver_run_page, trial_get
from tasks.services.solver_runs import solver_run_cancel, solver_run_start
from tasks.services.trajectories import trajectories_jsonl, trajectories_raw_zip


def _may_run(user) -> bool:
    return is_curator(user) or is_reviewer(user)


def _require_runner(request: HttpRequest) -> None:
    if not _may_run(request.user):
        raise PermissionDenied("Only curators and reviewers may run solvers.")


@require_POST
def solver_run_launch(request: HttpRequest, version_id: int) -> HttpResponse:
    _require_runner(request)
    try:
        version = catalog_version_by_id(version_id=version_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    back = reverse("catalog_detail", args=[version.catalog_id]) + f"?version={version.number}"
    form = SolverRunForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Solver run: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
        return redirect(back)
    try:
        run = solver_run_start(version=version, user=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    return redirect("solver_run_detail", run_id=run.pk)


def solver_run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """The full page, or (htmx, `part=progress`) only the progress section it polls."""
    try:
        context = solver_run_page(run_id=run_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    context["can_cancel"] = _may_run(request.user)
    template = "tasks/solver_run.html"
    if getattr(request, "htmx", None) and request.GET.get("part") == "progress":
        template = "tasks/partials/solver_run_progress.html"
    return render(request, template, context)


@require_POST
def solver_run_cancel_view(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_runner(request)
    try:
        solver_run_cancel(run=solver_run_page(run_id=run_id)["run"])
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    messages.info(request, "Cancel requested: Harbor stops and its containers are removed.")
    return redirect("solver_run_detail", run_id=run_id)


def trial_trajectory(request: HttpRequest, trial_id: int) -> HttpResponse:
    """A trial's trajectory and verifier output, shown as escaped text."""
    try:
        trial = trial_get(trial_id=trial_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return render(request, "tasks/trial_trajectory.html", {"trial": trial})


def trajectories_download(request: HttpRequest, catalog_id: int) -> HttpResponse:
    """`?format=raw` gives the ATIF files in a zip; otherwise SFT JSONL. `?min_steps=N` filters."""
    try:
        catalog = catalog_get_by_id(catalog_id=catalog_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    min_steps = (
        int(request.GET.get("min_steps", "0") or 0) if request.GET.get("min_steps", "0").isdigit() else 0
    )
    if request.GET.get("format") == "raw":
        data, name, kind = (
            trajectories_raw_zip(catalog=catalog, min_steps=min_steps),
            "atif.zip",
            "application/zip",
        )
    else:
        data, _ = trajectories_jsonl(catalog=catalog, min_steps=min_steps)
        name, kind = "trajectories.jsonl", "application/x-ndjson"
    response = HttpResponse(data, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{catalog.name}-{name}"'
    return response
