"""The verifier's trusted toolbox: a directory the base image fills (a statically linked bash in
`bin/`, first on every image's PATH, and busybox's applets in `tools/`) and every container of a
studio image, like every harness container of an export, mounts from a read-only volume that the
image fills. An agent is root in its container but cannot write a read-only mount, remount it
(no CAP_SYS_ADMIN) or move it (a mount point at the top of the tree is busy), so the `bash` a
harness finds first on PATH, the shell `run.sh` runs in and the hash tool it checks the verifier's
interpreter with are the image's, whatever the agent did to `/usr/bin` or `/usr/local/bin`."""

from __future__ import annotations

TRUST_DIR = "/studio-trust"
TRUST_BASH = f"{TRUST_DIR}/bin/bash"
TRUST_TOOLS_DIR = f"{TRUST_DIR}/tools"


def image_has_toolbox(env: list[str] | None) -> bool:
    """Whether an image's configured environment (`Config.Env`) puts the toolbox on PATH."""
    for item in env or []:
        if item.startswith("PATH="):
            return f"{TRUST_DIR}/bin" in item[5:].split(":")
    return False

