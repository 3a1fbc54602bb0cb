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


# Variables the toolbox's bash acts on before it runs a line of the command it was given: a harness
# runs the verifier as `bash -c ...` with the image's ENV, so a task whose Dockerfile set one of these
# would have bash source (BASH_ENV, ENV in POSIX mode), trace through (SHELLOPTS/BASHOPTS xtrace with a
# PS4 that expands `$(...)`) or import functions from (BASH_FUNC_*) something the agent may rewrite.
SHELL_STARTUP_ENV = frozenset({"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "BASH_XTRACEFD"})


def shell_startup_refusal(name: str) -> str:
    """Why an ENV line may not set `name` in a task's image ('' when it may)."""
    if name in SHELL_STARTUP_ENV or name.startswith("BASH_FUNC_"):
        return (f"{name} is read by every bash at start, the verifier's too: an agent could make the "
                "verifier run its code, so a task's image may not set it")
    return ""
