"""Small images the tests build once (cached by Docker across runs)."""

from __future__ import annotations

import io
import tarfile

import docker

from inversion.engine.runtime.labels import labels

PYTEST_IMAGE = "studio-test/pytest:2"
PYTEST_DOCKERFILE = """FROM {base}
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install -q pytest==8.3.5
ENV PATH=/studio-trust/bin:/opt/venv/bin:$PATH
WORKDIR /testbed
"""


def ensure_image(client: docker.DockerClient, tag: str, files: dict[str, str], *, owner: str,
                 network_mode: str = "none") -> str:
    """`tag` if it exists, else built from `files` (the build context, "Dockerfile" included).
    Tags carry a version: change the content, bump the tag."""
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    client.images.build(fileobj=buf, custom_context=True, tag=tag, network_mode=network_mode, rm=True,
                        labels=labels("test-image", owner))
    return tag


def ensure_pytest_image(client: docker.DockerClient, base: str) -> str:
    """An image with a venv and pytest under /opt/venv, for engine tests that need a runner."""
    return ensure_image(client, PYTEST_IMAGE, {"Dockerfile": PYTEST_DOCKERFILE.format(base=base)},
                        owner="pytest", network_mode="host")
