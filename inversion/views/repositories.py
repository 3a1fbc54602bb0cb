"""Repository pages: the list with the add form, one repository (gold panel, overrides), delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from inversion.forms.repositories import OverridesForm, RepositoryAddForm
from inversion.models import Repository
from inversion.selectors.golds import repository_page
from inversion.selectors.repositories import repository_list
from inversion.services.repositories import (
    repository_delete,
    repository_register,
    repository_update_overrides,
)
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator, require_curator


def repository_list_view(request: HttpRequest) -> HttpResponse:
    form = RepositoryAddForm(request.POST or None)
    if request.method == "POST":
        require_curator(request.user, "add repositories")
        if form.is_valid():
            try:
                repo, created = repository_register(**form.cleaned_data, user=request.user)
            except ApplicationError as exc:
                field = exc.extra.get("field")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, f"{'Added' if created else 'Already present:'} {repo.name}")
                return redirect("repository_detail", repo_id=repo.pk)
    context = {"repositories": repository_list(), "form": form, "can_add": is_curator(request.user)}
    return render(request, "inversion/repository_list.html", context, status=400 if form.errors else 200)


def repository_detail(request: HttpRequest, repo_id: int) -> HttpResponse:
    repo = get_object_or_404(Repository, pk=repo_id)
    context = {
        **repository_page(repository=repo, user=request.user),
        "can_edit": is_curator(request.user),
        "overrides": OverridesForm(initial={"install_cmd": repo.install_cmd, "test_cmd": repo.test_cmd,
                                            "dockerfile_override": repo.dockerfile_override}),
    }
    return render(request, "inversion/repository_detail.html", context)


@require_POST
def repository_delete_view(request: HttpRequest, repo_id: int) -> HttpResponse:
    require_curator(request.user, "delete repositories")
    repo = get_object_or_404(Repository, pk=repo_id)
    try:
        repository_delete(repository=repo)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("repository_detail", repo_id=repo.pk)
    messages.success(request, f"Deleted {repo.name}")
    return redirect("repository_list")


@require_POST
def repository_overrides(request: HttpRequest, repo_id: int) -> HttpResponse:
    require_curator(request.user, "edit build overrides")
    repo = get_object_or_404(Repository, pk=repo_id)
    form = OverridesForm(request.POST)
    if form.is_valid():
        repository_update_overrides(repository=repo, **form.cleaned_data)
        messages.success(request, "Overrides saved; the next build uses them.")
    return redirect("repository_detail", repo_id=repo.pk)
