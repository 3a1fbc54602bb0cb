"""Management commands: first-run admin, base image no-op."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_admin_created_once_with_generated_password(monkeypatch):
    monkeypatch.delenv("STUDIO_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("studio_admin", stdout=out)
    text = out.getvalue()
    assert "password" in text and "shown only now" in text
    password = text.split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)

    out2 = io.StringIO()
    call_command("studio_admin", stdout=out2)
    assert password not in out2.getvalue()
    assert "set earlier" in out2.getvalue()


@pytest.mark.docker
def test_base_image_second_call_is_noop(base_image):
    out = io.StringIO()
    call_command("studio_base_image", "--no-pull", stdout=out)
    assert "present; nothing to do" in out.getvalue()
