"""Episode pages: launch form, list with filters and yield, the live episode page, cancel."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from inversion.forms.episodes import EpisodeLaunchForm
from inversion.models import Episode
from inversion.selectors.episodes import episode_detail, episode_filtered, episode_get, episode_yield
from inversion.selectors.golds import gold_get
from inversion.selectors.repositories import repository_names
from inversion.services.episodes import episode_batch_launch, episode_cancel
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator, require_curator


def episode_list(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("repository", "agent", "status")}
    qs = episode_filtered(**filters)
    context = {
        "episodes": qs[:200], "filters": filters, "yield": episode_yield(qs),
        "repositories": repository_names(), "agents": Episode.Agent.choices, "statuses": Episode.Status.choices,
    }
    return render(request, "inversion/episode_list.html", context)


def episode_detail_view(request: HttpRequest, episode_id: int) -> HttpResponse:
    try:
        episode, events = episode_detail(episode_id=episode_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return render(request, "inversion/episode_detail.html", {
        "episode": episode, "events": events, "last_seq": events[-1].seq if events else 0,
        "can_cancel": episode.is_active and is_curator(request.user),
    })


def episode_launch(request: HttpRequest, gold_id: int) -> HttpResponse:
    require_curator(request.user, "launch episodes")
    try:
        gold = gold_get(gold_id=gold_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    form = EpisodeLaunchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            episodes = episode_batch_launch(
                golds=[gold], count=d["count"], agent=d["agent"], model=d["model"], budget=form.budget(),
                directions=d["directions"], user=request.user, faults=d["faults"], network=d["network"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Launched {len(episodes)} episode(s).")
            if len(episodes) == 1:
                return redirect("episode_detail", episode_id=episodes[0].pk)
            return redirect("episode_list")
    return render(request, "inversion/episode_launch.html", {"form": form, "gold": gold})


@require_POST
def episode_cancel_view(request: HttpRequest, episode_id: int) -> HttpResponse:
    require_curator(request.user, "cancel episodes")
    try:
        episode_cancel(episode=episode_get(episode_id=episode_id), user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Cancel requested; the episode stops after its current step.")
    return redirect("episode_detail", episode_id=episode_id)
