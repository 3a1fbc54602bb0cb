"""Gold environment actions of a repository page: the polled panel and the build button."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from inversion.models import Repository
from inversion.selectors.golds import gold_panel
from inversion.services.golds import gold_enqueue
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import require_curator


def gold_panel_view(request: HttpRequest, repo_id: int) -> HttpResponse:
    """The status/baseline fragment the detail page polls while a fetch or build runs. When a
    fetch ends, the whole page reloads: its header and next Dockerfile come from the source."""
    repo = get_object_or_404(Repository, pk=repo_id)
    response = render(request, "inversion/gold_panel.html", gold_panel(repository=repo, user=request.user))
    if request.GET.get("fetching") and repo.status != Repository.Status.FETCHING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def gold_build_view(request: HttpRequest, repo_id: int) -> HttpResponse:
    require_curator(request.user, "build gold environments")
    repo = get_object_or_404(Repository, pk=repo_id)
    try:
        gold = gold_enqueue(repository=repo)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Gold #{gold.pk}: {gold.status}")
    return redirect("repository_detail", repo_id=repo.pk)
