"""Build a gold image: content-addressed (reused when unchanged), its build log streamed.

The image tag is derived from a hash of (Dockerfile, CA bundle, source tree), so an unchanged
repository@ref never rebuilds.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from inversion.engine.gold.dockerfile import CA_FILE, SOURCE_DIR
from inversion.engine.gold.sources import iter_files, tree_hash

LineCallback = Callable[[str], None]
BUILD_LIMITS = {"memory": 4 * 1024**3, "memswap": -1}


def content_hash(dockerfile: str, snapshot: Path, ca_bundle: bytes = b"") -> str:
    digest = hashlib.sha256()
    for part in (dockerfile.encode(), ca_bundle, tree_hash(snapshot).encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def image_tag(name: str, chash: str) -> str:
    repo = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "repo"
    return f"studio-gold/{repo}:{chash[:16]}"


def write_context(snapshot: Path, dockerfile: str, ca_bundle: bytes, target) -> None:
    """Build context as a tar: Dockerfile, optional CA file, the snapshot under src/."""
    with tarfile.open(fileobj=target, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", dockerfile.encode())
        if ca_bundle:
            _add_bytes(tar, CA_FILE, ca_bundle)
        for path in iter_files(snapshot):
            tar.add(path, arcname=f"{SOURCE_DIR}/{path.relative_to(snapshot).as_posix()}", recursive=False)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, fileobj=io.BytesIO(data))


@dataclass
class BuildResult:
    image_id: str
    reused: bool
    seconds: float
    error: str = ""


def build_image(
    client: docker.DockerClient,
    *,
    snapshot: Path,
    dockerfile: str,
    tag: str,
    labels: dict[str, str],
    ca_bundle: bytes = b"",
    on_line: LineCallback = lambda line: None,
    timeout: float = 1800,
    nocache: bool = False,
) -> BuildResult:
    """Reuse the image `tag` when it exists (unless `nocache`), else build it streaming lines."""
    started = time.monotonic()
    try:
        image = client.images.get(tag)
        if not nocache:
            on_line(f"image {tag} exists ({image.short_id}); reusing it")
            return BuildResult(image.id, True, time.monotonic() - started)
    except ImageNotFound:
        pass
    image_id, error = "", ""
    with tempfile.TemporaryFile() as ctx:
        write_context(snapshot, dockerfile, ca_bundle, ctx)
        ctx.seek(0)
        try:
            stream = client.api.build(
                fileobj=ctx, custom_context=True, tag=tag, labels=labels, network_mode="host",
                rm=True, forcerm=True, decode=True, timeout=timeout, container_limits=BUILD_LIMITS, nocache=nocache,
            )
            for chunk in stream:
                if "stream" in chunk:
                    for line in chunk["stream"].splitlines():
                        if line.strip():
                            on_line(line)
                if "error" in chunk:
                    error = chunk["error"].strip()
                    on_line(f"ERROR: {error}")
                aux = chunk.get("aux") or {}
                if aux.get("ID"):
                    image_id = aux["ID"]
                if time.monotonic() - started > timeout:
                    error = f"build exceeded its {timeout:.0f} s timeout"
                    break
        except (APIError, BuildError) as exc:
            error = str(exc)
        except Exception as exc:  # read timeout and connection errors end the build too
            silent = time.monotonic() - started >= timeout * 0.95  # a step that printed nothing until the end
            error = f"build exceeded its {timeout:.0f} s timeout" if silent else f"build failed: {exc}"
    if not error and not image_id:
        try:
            image_id = client.images.get(tag).id
        except ImageNotFound:
            error = "the build produced no image"
    return BuildResult(image_id, False, time.monotonic() - started, error)


def remove_image(client: docker.DockerClient, tag: str) -> bool:
    """Remove a losing attempt's image; False when it is gone already or still in use."""
    try:
        client.images.remove(tag)
        return True
    except (ImageNotFound, APIError):
        return False
