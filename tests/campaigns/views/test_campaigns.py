"""Campaign pages: curators start one (pasted or uploaded list, errors inline), everyone logged in
watches it, only curators act; container and model text is escaped."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.services.campaigns import campaign_start

pytestmark = pytest.mark.django_db


def test_a_curator_starts_a_campaign_from_an_uploaded_file(alice_client, projects):
    upload = SimpleUploadedFile("requirements.txt", "".join(f"path:{p}\n" for p in projects).encode())
    response = alice_client.post(reverse("campaign_list"), {"sources_file": upload, "episodes_per_gold": 3,
                                                            "agent_mix": "builtin", "target_tasks": 4})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("campaign_detail", args=[campaign.pk])
    assert (campaign.episodes_per_gold, campaign.target_tasks, campaign.sources.count()) == (3, 4, 2)
    page = alice_client.get(response.url).content.decode()
    assert 'id="campaign-report"' in page and 'hx-trigger="every 2s"' in page and "Pause" in page
    fragment = alice_client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="campaign-report"') and "<html" not in fragment


def test_bad_lines_are_shown_next_to_the_list(alice_client):
    response = alice_client.post(reverse("campaign_list"), {"sources": "six\n", "episodes_per_gold": 1,
                                                            "agent_mix": "builtin"})
    assert response.status_code == 400
    assert "line 1: &#x27;six&#x27; is not a pinned requirement" in response.content.decode()
    assert Campaign.objects.count() == 0


def test_only_curators_start_or_act_and_pages_need_a_login(client, charlie, alice, projects):
    campaign = campaign_start(sources=f"path:{projects[0]}", episodes_per_gold=1, user=alice)
    url = reverse("campaign_detail", args=[campaign.pk])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(charlie)
    assert client.get(url).status_code == 200
    assert "Start a campaign" not in client.get(reverse("campaign_list")).content.decode()
    assert client.post(reverse("campaign_list"), {"sources": f"path:{projects[1]}", "episodes_per_gold": 1,
                                                  "agent_mix": "builtin"}).status_code == 403
    assert client.post(reverse("campaign_action", args=[campaign.pk, "cancel"])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "running"


def test_reasons_are_escaped(alice_client, alice, projects):
    campaign = campaign_start(sources=f"path:{projects[0]}", episodes_per_gold=1, user=alice)
    campaign.sources.update(stage="failed", reason="fetch: <script>alert(1)</script>")
    page = alice_client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert alice_client.post(reverse("campaign_action", args=[campaign.pk, "cancel"])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "cancelled"
