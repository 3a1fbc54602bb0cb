"""Provide the base image every gold environment starts from.

No registry is reachable on air-gapped machines, so when the configured image is neither
present nor pullable we build one from Debian packages: debootstrap a minbase bookworm
root file system and `docker import` it. A corporate CA bundle can be baked in so that pip
inside builds trusts a TLS-intercepting proxy.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from inversion.engine.runtime.labels import LABEL_PREFIX
from inversion.engine.runtime.trust import TRUST_DIR

Progress = Callable[[str], None]

# Changing this list changes the image: bump the tag of STUDIO_BASE_IMAGE's default with it, so every
# machine builds the new one (and gold content hashes, which name the base, change too).
# g++: C++ extensions (ujson, python-snappy) and suites that compile at test time (cffi).
PACKAGES = [
    "python3", "python3-venv", "python3-pip", "python3-dev", "gcc", "g++", "libc6-dev", "make",
    "git", "ca-certificates", "tmux", "procps", "file", "locales", "tzdata",
    "libyaml-dev", "zlib1g-dev", "libffi-dev", "libsqlite3-dev", "libssl-dev",
    "bash-static", "busybox-static",  # the verifier's trusted toolbox (TRUST_DIR)
]
# The verifier's trusted toolbox (`runtime.trust`): a statically linked bash (`bin/bash`, first on
# PATH, so a harness's `bash -c` finds it) and busybox's applets (`tools/`, for `run.sh` alone).
TRUST_TOOLS = ("cat", "cp", "cut", "env", "grep", "head", "mkdir", "mktemp", "readlink", "rm", "sha256sum",
               "sort", "stat", "tr", "uname")
EXTRA_CA_PATH = "/usr/local/share/ca-certificates/studio-extra.crt"
IMAGE_ENV = {
    "LANG": "C.UTF-8",
    "PATH": f"{TRUST_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    # set, so that bash never looks the user up at start (NSS modules are code /etc/nsswitch.conf names)
    "SHELL": "/bin/bash",
    # pip in a venv trusts its own certifi copy unless told otherwise.
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
    "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_CACHE_DIR": "1",
}


class BaseImageError(Exception):
    """The base image could not be found, pulled or built."""


def image_present(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def try_pull(client: docker.DockerClient, tag: str, progress: Progress) -> bool:
    progress(f"trying to pull {tag}")
    try:
        client.images.pull(tag)
        return True
    except APIError as exc:
        progress(f"pull failed: {exc.explanation or exc}")
        return False


def ensure_base_image(
    client: docker.DockerClient,
    tag: str,
    *,
    extra_ca_bundle: str | None = None,
    mirror: str = "http://deb.debian.org/debian",
    progress: Progress = print,
    allow_pull: bool = True,
) -> str:
    """Return `tag`, building it from Debian packages when it is not present or pullable."""
    if image_present(client, tag):
        progress(f"base image {tag} is present; nothing to do")
        return tag
    if allow_pull and try_pull(client, tag, progress):
        return tag
    build_from_debootstrap(client, tag, extra_ca_bundle=extra_ca_bundle, mirror=mirror, progress=progress)
    return tag


def build_from_debootstrap(
    client: docker.DockerClient,
    tag: str,
    *,
    extra_ca_bundle: str | None,
    mirror: str,
    progress: Progress,
) -> None:
    if shutil.which("debootstrap") is None:
        raise BaseImageError("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="studio-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        progress(f"debootstrap minbase bookworm into {root} ({len(PACKAGES)} extra packages)")
        cmd = [
            "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            "bookworm", str(root), mirror,
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(("I: Retrieving", "I: Validating", "I: Unpacking", "I: Configuring")):
                continue  # one line per package is noise; keep the stage lines
            progress(line.rstrip())
        if proc.wait() != 0:
            raise BaseImageError(f"debootstrap exited with {proc.returncode}")
        if extra_ca_bundle:
            inject_ca_bundle(root, Path(extra_ca_bundle), progress)
        _tidy_rootfs(root)
        _trust_toolbox(root)
        progress("packing the root file system")
        tar_path = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(root, arcname=".")
        progress(f"docker import as {tag}")
        changes = [f"ENV {k}={v}" for k, v in IMAGE_ENV.items()]
        changes += ['CMD ["/bin/bash"]', f'LABEL {LABEL_PREFIX}.kind=base']
        _docker_import(tar_path, tag, changes)
    progress(f"base image {tag} is ready")


def inject_ca_bundle(root: Path, bundle: Path, progress: Progress) -> None:
    """Append the extra CA bundle to the system bundle (and keep a copy for update-ca-certificates)."""
    if not bundle.is_file():
        raise BaseImageError(f"STUDIO_EXTRA_CA_BUNDLE={bundle} is not a file")
    data = bundle.read_bytes()
    target = root / EXTRA_CA_PATH.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    system = root / "etc/ssl/certs/ca-certificates.crt"
    with system.open("ab") as fh:
        fh.write(b"\n" + data)
    progress(f"injected CA bundle {bundle} ({len(data)} bytes)")


def _tidy_rootfs(root: Path) -> None:
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
        path = root / sub
        if path.is_dir():
            for child in path.iterdir():
                if child.is_file():
                    child.unlink()


def _trust_toolbox(root: Path) -> None:
    """`TRUST_DIR` from the static bash and busybox the packages installed."""
    trust = root / TRUST_DIR.lstrip("/")
    (trust / "bin").mkdir(parents=True, exist_ok=True)
    (trust / "tools").mkdir(exist_ok=True)
    shutil.copy2(root / "bin/bash-static", trust / "bin/bash")
    shutil.copy2(root / "bin/busybox", trust / "busybox")
    for tool in TRUST_TOOLS:
        (trust / "tools" / tool).symlink_to("../busybox")


def _docker_import(tar_path: Path, tag: str, changes: list[str]) -> None:
    # The SDK's import_image cannot pass several --change values reliably; the CLI can.
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        raise BaseImageError("the docker CLI is needed to import the base image")
    args = [docker_cli, "import"]
    for change in changes:
        args += ["--change", change]
    args += [str(tar_path), tag]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise BaseImageError(f"docker import failed: {result.stderr.strip()}")
