"""Login is required on every page and websocket; roles come from a data migration."""

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.urls import reverse

from studio.asgi import application


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["dashboard", "repository_list", "episode_list", "task_list", "catalog_list", "campaign_list", "health"])
def test_pages_redirect_anonymous_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_login_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in to Task Studio" in response.content


@pytest.mark.django_db
def test_logged_in_user_sees_dashboard(alice_client):
    response = alice_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert b"Dashboard" in response.content and b"alice" in response.content


@pytest.mark.django_db
def test_roles_exist_from_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= {"curator", "reviewer"}


@pytest.mark.django_db(transaction=True)
async def test_anonymous_websocket_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/episodes/1/", headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    )
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_websocket_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/episodes/1/", headers=[(b"origin", b"http://evil.example"), (b"host", b"127.0.0.1:8000")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()
