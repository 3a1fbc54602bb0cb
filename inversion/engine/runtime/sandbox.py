"""Bounded containers: start from an image, run commands with a studio-enforced timeout and
capped output, read `docker diff`, copy files in and out, and always clean up.

Every container carries `studio.*` labels (its worker among them) so the sweep can remove what a
dead worker left. Commands run as `bash -c` in a fresh shell each time (environment changes must be
passed explicitly through `env`).
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import docker
from docker.errors import APIError, NotFound
from docker.types import Mount

from inversion.engine.runtime import labels as lbl
from inversion.engine.runtime import trust

OutputCallback = Callable[[str], None]
EXEC_TOKEN = "STUDIO_EXEC_TOKEN"


@dataclass(frozen=True)
class Limits:
    memory: str = "2g"
    pids: int = 1024
    cpus: float = 1.0
    # CPU weight (the default is 1024): under contention a busy sandbox (a fork bomb up to its pids
    # limit) yields to the studio's own processes, which keep the default weight.
    cpu_shares: int = 128

    def host_config_kwargs(self) -> dict:
        return {"mem_limit": self.memory, "pids_limit": self.pids, "nano_cpus": int(self.cpus * 1e9),
                "cpu_shares": self.cpu_shares}


@dataclass
class ExecResult:
    exit_code: int | None
    output: str
    seconds: float
    timed_out: bool = False
    truncated_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class _Capture:
    """Keeps the head and the tail of a stream; the middle is dropped and counted."""

    limit: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def add(self, chunk: bytes) -> None:
        room = self.limit // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        excess = len(self.tail) - self.limit // 2
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes of output truncated by the studio ...]\n{tail}"
        return head + tail


class Sandbox:
    """One labelled container kept alive with `sleep infinity`; use as a context manager."""

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        *,
        kind: str,
        owner: str = "",
        instance: str = "default",
        network: str = "none",
        limits: Limits | None = None,
        mounts: list[Mount] | None = None,
        workdir: str = "/testbed",
        env: dict[str, str] | None = None,
        worker: str = "",
    ) -> None:
        self.client = client
        self.image = image
        self.labels = lbl.labels(kind, owner, instance, worker)
        self.network = network
        self.limits = limits or Limits()
        self.mounts = mounts or []
        self.workdir = workdir
        self.env = env or {}
        self.container = None
        self.trust_volume = ""

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    @property
    def id(self) -> str:
        return self.container.id if self.container else ""

    def _trust_mount(self) -> list[Mount]:
        """The toolbox from a read-only volume the image fills (removed with the container), where
        the image has one: as exports mount it, so that validation's runs meet what a harness's do."""
        try:
            env = self.client.images.get(self.image).attrs.get("Config", {}).get("Env")
        except (NotFound, APIError):
            return []
        if not trust.image_has_toolbox(env) or any(m.get("Target") == trust.TRUST_DIR for m in self.mounts):
            return []
        # named (Docker refuses a read-only anonymous volume), labelled like the container, removed with it
        self.trust_volume = f"studio-trust-{uuid.uuid4().hex[:16]}"
        return [Mount(target=trust.TRUST_DIR, source=self.trust_volume, type="volume", read_only=True,
                      labels=self.labels)]

    def start(self) -> None:
        self.container = self.client.containers.run(
            self.image,
            command=["sleep", "infinity"],
            entrypoint=[],
            detach=True,
            init=True,
            labels=self.labels,
            network_mode=self.network,
            mounts=[*self.mounts, *self._trust_mount()],
            working_dir=self.workdir,
            environment=self.env,
            security_opt=["no-new-privileges"],
            cap_drop=["NET_RAW", "SYS_ADMIN", "SYS_PTRACE", "MKNOD"],
            **self.limits.host_config_kwargs(),
        )

    def exec(
        self,
        command: str,
        *,
        timeout: float = 60,
        max_output: int = 64_000,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        on_output: OutputCallback | None = None,
        shell: str = "/bin/bash",
    ) -> ExecResult:
        """Run `command` with bash; the studio kills it after `timeout` seconds. `shell="bash"` finds
        it on the container's PATH, as a harness does."""
        api = self.client.api
        started = time.monotonic()
        token = uuid.uuid4().hex  # marks this command's processes, so a timeout kills them in the container
        exec_id = api.exec_create(
            self.container.id,
            [shell, "-c", command],
            environment={**(env or {}), EXEC_TOKEN: token},
            workdir=workdir or self.workdir,
            stdout=True,
            stderr=True,
        )["Id"]
        stream = api.exec_start(exec_id, stream=True, demux=False)
        capture = _Capture(max_output)
        done = threading.Event()

        def pump() -> None:
            try:
                for chunk in stream:
                    capture.add(chunk)
                    if on_output is not None:
                        on_output(chunk.decode("utf-8", "replace"))
            except Exception:
                pass
            finally:
                done.set()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = not done.wait(timeout)
        if timed_out:
            self._kill_exec(token)
            done.wait(5)
        info = api.exec_inspect(exec_id)
        exit_code = None if timed_out else info.get("ExitCode")
        output = capture.text()
        if timed_out:
            output += f"\n[studio: killed after {timeout:.0f} s timeout]"
        return ExecResult(exit_code, output, time.monotonic() - started, timed_out, capture.dropped)

    def _kill_exec(self, token: str) -> None:
        """Kill, inside the container, every process that carries this command's token (its children
        inherit it): the exec's host pid is not ours to signal (a remote engine, or an unrelated
        local process with the same number). Bash builtins only: the command may have broken tools.
        All of them are stopped first, then killed: killed one by one, a shell whose child died first
        would run its next command (`sleep 30; echo never` printed "never" on a loaded machine)."""
        killer = (f'declare -a hit; for p in /proc/[0-9]*; do [ "$p" = /proc/$$ ] && continue; '
                  f'mapfile -d "" env < "$p/environ" 2>/dev/null || continue; '
                  f'for e in "${{env[@]}}"; do [ "$e" = "{EXEC_TOKEN}={token}" ] && hit[${{p#/proc/}}]=1; done; done; '
                  f'[ ${{#hit[@]}} -gt 0 ] && {{ kill -STOP "${{!hit[@]}}"; kill -9 "${{!hit[@]}}"; }} 2>/dev/null; true')
        with contextlib.suppress(APIError, NotFound):
            exec_id = self.client.api.exec_create(self.container.id, ["/bin/bash", "-c", killer])["Id"]
            self.client.api.exec_start(exec_id)

    def diff(self) -> list[tuple[str, int]]:
        """`docker diff` as sorted (path, kind) pairs; kind 0 changed, 1 added, 2 deleted."""
        return sorted((change["Path"], change["Kind"]) for change in self.container.diff() or [])

    def put_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(data)
            info.mode = mode
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
        self.container.put_archive("/", buf.getvalue())  # missing parent directories are created

    def get_file(self, path: str, max_bytes: int = 50_000_000) -> bytes | None:
        try:
            bits, _ = self.container.get_archive(path)
        except NotFound:
            return None
        buf = io.BytesIO()
        for chunk in bits:
            buf.write(chunk)
            if buf.tell() > max_bytes:
                raise ValueError(f"{path} is larger than {max_bytes} bytes")
        buf.seek(0)
        with tarfile.open(fileobj=buf) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                return None
            fh = tar.extractfile(member)
            return fh.read() if fh else None

    def remove(self) -> None:
        if self.container is None:
            return
        try:
            self.container.remove(force=True, v=True)
        except NotFound:
            pass
        except APIError:
            pass  # the sweeper will find it by label
        except Exception:  # the engine went away (restarted, unreachable): it is swept once it answers again
            pass
        self.container = None
        if self.trust_volume:
            with contextlib.suppress(Exception):
                self.client.volumes.get(self.trust_volume).remove(force=True)
            self.trust_volume = ""
