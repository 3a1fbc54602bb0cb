"""The studio starts without Docker: a banner gives the reason and nothing crashes."""

import pytest
from django.urls import reverse

from studio.lib import dockerctx


@pytest.fixture
def no_docker(settings, tmp_path):
    settings.DOCKER_HOST = f"unix://{tmp_path}/missing.sock"
    dockerctx._cache = None
    yield
    dockerctx._cache = None


def test_banner_names_socket_and_reason(no_docker, alice_client, tmp_path):
    response = alice_client.get(reverse("dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Docker is unreachable" in body
    assert f"{tmp_path}/missing.sock" in body


def test_health_endpoint_reports_docker_down(no_docker, alice_client):
    data = alice_client.get(reverse("health")).json()
    assert data["docker"]["ok"] is False
    assert "missing.sock" in data["docker"]["endpoint"]
