"""Shared fixtures: named people (alice the curator, bob the reviewer, charlie with no role,
root the admin) and access to the real Docker engine, which must answer: Docker tests fail
rather than skip unless STUDIO_ALLOW_SKIP_DOCKER=1."""

from __future__ import annotations

import os

import pytest

from tests.factories import UserFactory

PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def _no_embedded_worker_left_behind():
    """A test that started the in-process worker (the CLI does for verbs that need one, and never
    stops it: its process ends) must not leave it consuming the next tests' jobs."""
    yield
    import sys

    if "studio.embedded" in sys.modules:
        sys.modules["studio.embedded"].stop_embedded_worker()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", roles=["curator"])


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", roles=["reviewer"])


@pytest.fixture
def charlie(db):
    return UserFactory(username="charlie")


@pytest.fixture
def root(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "", PASSWORD)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(scope="session")
def docker_client():
    from studio.lib.dockerctx import docker_client as make_client
    from studio.lib.dockerctx import docker_status

    status = docker_status(fresh=True)
    if not status.ok:
        if os.environ.get("STUDIO_ALLOW_SKIP_DOCKER") == "1":
            pytest.skip(f"Docker unreachable: {status.detail}")
        pytest.fail(f"Docker must answer for this test (run scripts/docker-engine): {status.detail}")
    client = make_client(timeout=600)
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client):
    from django.conf import settings

    from inversion.engine.gold.baseimage import image_present

    if not image_present(docker_client, settings.STUDIO_BASE_IMAGE):
        pytest.fail(f"base image {settings.STUDIO_BASE_IMAGE} missing: run manage.py studio_base_image")
    return settings.STUDIO_BASE_IMAGE


@pytest.fixture
def chat_server():
    """A scriptable fake Chat Completions server on loopback (API: tests/support/chat_server.py)."""
    from tests.support.chat_server import ChatServer

    with ChatServer() as server:
        yield server


@pytest.fixture(scope="session")
def small_model_server():
    """The real llama.cpp server with the 0.5B model (prepared by scripts/setup-llm), started once
    for every test that needs it."""
    from django.conf import settings

    from inversion.engine.runtime.llm import localmodel

    if not localmodel.runtime_available():
        pytest.fail("llama-cpp-python missing: run scripts/setup-llm")
    spec = localmodel.model_spec("qwen2.5-coder-0.5b")
    path = localmodel.ensure_model(spec, settings.STUDIO_MODEL_CACHE, log=lambda _: None)
    # One thread: CI shares its cores with Docker tests, and oversubscribed llama.cpp threads spin.
    with localmodel.LocalServer(path, alias=spec.key, n_ctx=8192, n_threads=1) as server:
        yield server


@pytest.fixture
def package_index(settings):
    """A loopback PyPI (JSON Simple API) the studio fetches from (API: tests/support/pypi_index.py)."""
    from tests.support.pypi_index import PackageIndex

    with PackageIndex() as index:
        settings.STUDIO_PYPI_INDEX = index.url
        yield index
