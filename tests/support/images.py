"""Small images the tests build once (cached by Docker across runs)."""

from __future__ import annotations

import io

import docker

from inversion.engine.labels import labels

PYTEST_IMAGE = "studio-test/pytest:1"
PYTEST_DOCKERFILE = """FROM {base}
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install -q pytest==8.3.5
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /testbed
"""


def ensure_pytest_image(client: docker.DockerClient, base: str) -> str:
    """An image with a venv and pytest under /opt/venv, for engine tests that need a runner."""
    try:
        client.images.get(PYTEST_IMAGE)
        return PYTEST_IMAGE
    except docker.errors.ImageNotFound:
        pass
    dockerfile = PYTEST_DOCKERFILE.format(base=base).encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=PYTEST_IMAGE, network_mode="host", rm=True,
                        labels=labels("test-image", "pytest"))
    return PYTEST_IMAGE
