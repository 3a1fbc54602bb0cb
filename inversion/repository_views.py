"""Repository pages: list + add, detail with the gold build (live log, baseline, surface), overrides."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from inversion import selectors
from inversion.engine.surface import overview
from inversion.forms import OverridesForm, RepositoryAddForm
from inversion.models import GoldEnvironment, Repository
from inversion.services.golds import gold_dockerfile, gold_enqueue
from inversion.services.repositories import (
    repository_delete,
    repository_register,
    repository_update_overrides,
)
from studio.lib.dockerctx import docker_status
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator

ACTIVE = (GoldEnvironment.Status.QUEUED, GoldEnvironment.Status.BUILDING, GoldEnvironment.Status.TESTING)


def repository_list(request: HttpRequest) -> HttpResponse:
    form = RepositoryAddForm(request.POST or None)
    if request.method == "POST":
        if not is_curator(request.user):
            raise PermissionDenied("Only curators may add repositories.")
        if form.is_valid():
            try:
                repo, created = repository_register(**form.cleaned_data, user=request.user)
            except ApplicationError as exc:
                field = exc.extra.get("field")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, f"{'Added' if created else 'Already present:'} {repo.name}")
                return redirect("repository_detail", repo_id=repo.pk)
    context = {"repositories": selectors.repository_list(), "form": form, "can_add": is_curator(request.user)}
    return render(request, "inversion/repository_list.html", context, status=400 if form.errors else 200)


def _gold_context(request: HttpRequest, repo: Repository) -> dict:
    gold = selectors.gold_latest(repository=repo)
    events = list(gold.log_events.order_by("seq")) if gold else []
    docker = docker_status()
    building = bool(gold and gold.status in ACTIVE)
    reason = ""
    if repo.status == Repository.Status.FETCHING:
        reason = "the source is still being fetched"
    elif repo.status == Repository.Status.FAILED:
        reason = "the source could not be fetched"
    elif not docker.ok:
        reason = f"Docker is unreachable: {docker.detail}"
    elif building:
        reason = "a build is in progress"
    elif not is_curator(request.user):
        reason = "only curators may build"
    launch_url = ""
    if gold and gold.status == GoldEnvironment.Status.READY:
        try:
            launch_url = reverse("episode_launch", args=[gold.pk])
        except NoReverseMatch:
            launch_url = ""
    baseline = gold.baseline if gold else {}
    return {
        "repo": repo, "gold": gold, "events": events, "last_seq": events[-1].seq if events else 0,
        "building": building, "fetching": repo.status == Repository.Status.FETCHING,
        "can_delete": is_curator(request.user),
        "build_disabled_reason": reason, "launch_url": launch_url,
        "flaky": (baseline.get("flaky") or [])[:50], "slowest": (baseline.get("slowest") or [])[:10],
        "surface": overview(gold.surface) if gold and gold.surface else None,
    }


def repository_detail(request: HttpRequest, repo_id: int) -> HttpResponse:
    repo = get_object_or_404(Repository, pk=repo_id)
    context = _gold_context(request, repo)
    context["can_edit"] = is_curator(request.user)
    context["overrides"] = OverridesForm(initial={
        "install_cmd": repo.install_cmd, "test_cmd": repo.test_cmd, "dockerfile_override": repo.dockerfile_override,
    })
    context["next_dockerfile"] = gold_dockerfile(repository=repo) if repo.snapshot_path else ""
    return render(request, "inversion/repository_detail.html", context)


def gold_panel(request: HttpRequest, repo_id: int) -> HttpResponse:
    """The status/baseline fragment the detail page polls while a fetch or build runs. When a
    fetch ends, the whole page reloads: its header and next Dockerfile come from the source."""
    repo = get_object_or_404(Repository, pk=repo_id)
    response = render(request, "inversion/gold_panel.html", _gold_context(request, repo))
    if request.GET.get("fetching") and repo.status != Repository.Status.FETCHING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def repository_delete_view(request: HttpRequest, repo_id: int) -> HttpResponse:
    if not is_curator(request.user):
        raise PermissionDenied("Only curators may delete repositories.")
    repo = get_object_or_404(Repository, pk=repo_id)
    try:
        repository_delete(repository=repo)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("repository_detail", repo_id=repo.pk)
    messages.success(request, f"Deleted {repo.name}")
    return redirect("repository_list")


@require_POST
def gold_build_view(request: HttpRequest, repo_id: int) -> HttpResponse:
    if not is_curator(request.user):
        raise PermissionDenied("Only curators may build gold environments.")
    repo = get_object_or_404(Repository, pk=repo_id)
    try:
        gold = gold_enqueue(repository=repo)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Gold #{gold.pk}: {gold.status}")
    return redirect("repository_detail", repo_id=repo.pk)


@require_POST
def repository_overrides(request: HttpRequest, repo_id: int) -> HttpResponse:
    if not is_curator(request.user):
        raise PermissionDenied("Only curators may edit build overrides.")
    repo = get_object_or_404(Repository, pk=repo_id)
    form = OverridesForm(request.POST)
    if form.is_valid():
        repository_update_overrides(repository=repo, **form.cleaned_data)
        messages.success(request, "Overrides saved; the next build uses them.")
    return redirect("repository_detail", repo_id=repo.pk)
