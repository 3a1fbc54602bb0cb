"""Episode pages: launch form, list with filters and yield, the live episode page, cancel."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from inversion import episode_selectors as sel
from inversion.forms_episodes import EpisodeLaunchForm
from inversion.models import Episode, GoldEnvironment
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator


def episode_list(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("repository", "agent", "status")}
    qs = sel.episode_filtered(**filters)
    context = {
        "episodes": qs[:200], "filters": filters, "yield": sel.episode_yield(qs),
        "repositories": sel.repository_names(), "agents": Episode.Agent.choices, "statuses": Episode.Status.choices,
    }
    return render(request, "inversion/episode_list.html", context)


def episode_detail(request: HttpRequest, episode_id: int) -> HttpResponse:
    try:
        episode, events = sel.episode_detail(episode_id=episode_id)
    except Episode.DoesNotExist as exc:
        raise Http404("No such episode") from exc
    last_seq = events[-1].seq if events else 0
    return render(request, "inversion/episode_detail.html", {
        "episode": episode, "events": events, "last_seq": last_seq,
        "can_cancel": episode.is_active and is_curator(request.user),
    })


def episode_launch(request: HttpRequest, gold_id: int) -> HttpResponse:
    if not is_curator(request.user):
        raise PermissionDenied("Only curators launch episodes.")
    try:
        gold = sel.gold_get(gold_id=gold_id)
    except GoldEnvironment.DoesNotExist as exc:
        raise Http404("No such gold environment") from exc
    form = EpisodeLaunchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            from inversion.services.episodes import episode_batch_launch
        except ImportError:
            form.add_error(None, "Episodes cannot be launched yet: the episode service is not installed.")
        else:
            d = form.cleaned_data
            try:
                episodes = episode_batch_launch(
                    golds=[gold], count=d["count"], agent=d["agent"], model=d["model"], budget=form.budget(),
                    directions=d["directions"], user=request.user, base_url=None,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                episodes = list(episodes or [])
                messages.success(request, f"Launched {len(episodes)} episode(s).")
                if len(episodes) == 1:
                    return redirect("episode_detail", episode_id=episodes[0].pk)
                return redirect("episode_list")
    return render(request, "inversion/episode_launch.html", {"form": form, "gold": gold})


@require_POST
def episode_cancel_view(request: HttpRequest, episode_id: int) -> HttpResponse:
    if not is_curator(request.user):
        raise PermissionDenied("Only curators cancel episodes.")
    try:
        episode = Episode.objects.get(pk=episode_id)
    except Episode.DoesNotExist as exc:
        raise Http404("No such episode") from exc
    try:
        from inversion.services.episodes import episode_cancel
    except ImportError:
        messages.error(request, "Cancelling is not available yet.")
    else:
        try:
            episode_cancel(episode=episode, user=request.user)
            messages.success(request, "Cancel requested; the episode stops after its current step.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("episode_detail", episode_id=episode_id)

