"""Campaign pages: the list with the start form, the live page (its report fragment is polled), and
pause / resume / cancel. Every page needs a login (middleware); only curators act."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from campaigns.forms.campaigns import CampaignForm
from campaigns.selectors.campaigns import campaign_get, campaign_list, campaign_report
from campaigns.services.campaigns import campaign_cancel, campaign_pause, campaign_resume, campaign_start
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator, require_curator

ACTIONS = {"pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel}


def campaign_list_view(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        require_curator(request.user, "start campaigns")
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "sources_file"}
            try:
                campaign = campaign_start(**data, user=request.user)
            except ApplicationError as exc:
                field = exc.extra.get("field")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, f"Campaign #{campaign.pk} started")
                return redirect("campaign_detail", campaign_id=campaign.pk)
    context = {"campaigns": campaign_list(), "form": form, "can_start": is_curator(request.user)}
    return render(request, "campaigns/campaign_list.html", context, status=400 if form.errors else 200)


def campaign_detail_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The live page; htmx polls the same view for the report fragment while the campaign is active."""
    campaign = campaign_get(campaign_id=campaign_id)
    template = "campaigns/partials/report.html" if request.htmx else "campaigns/campaign_detail.html"
    context = {"report": campaign_report(campaign=campaign), "campaign": campaign, "can_act": is_curator(request.user)}
    return render(request, template, context)


@require_POST
def campaign_action_view(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    require_curator(request.user, f"{action} campaigns")
    campaign = campaign_get(campaign_id=campaign_id)
    if action not in ACTIONS:
        messages.error(request, f"unknown action {action}")
    else:
        try:
            ACTIONS[action](campaign=campaign, user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Campaign #{campaign.pk}: {action}")
    return redirect("campaign_detail", campaign_id=campaign.pk)
