"""Build a gold image (content-addressed, reused when unchanged) and take its test baseline.

The image tag is derived from a hash of (Dockerfile, CA bundle, source tree), so an unchanged
repository@ref never rebuilds. The baseline runs the suite N >= 2 times in a bounded sandbox
(network none, limits, labels): tests whose outcome differs between runs are flaky and are
never counted as stably passing.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from inversion.engine import surface as surf
from inversion.engine import testrun
from inversion.engine.dockerfile import CA_FILE, SOURCE_DIR
from inversion.engine.sandbox import Limits, Sandbox
from inversion.engine.sources import iter_files, tree_hash

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
            error = f"build failed: {exc}"
    if not error and not image_id:
        try:
            image_id = client.images.get(tag).id
        except ImageNotFound:
            error = "the build produced no image"
    return BuildResult(image_id, False, time.monotonic() - started, error)


@dataclass
class Baseline:
    baseline: dict
    surface: dict
    runs: list[testrun.TestRun] = field(default_factory=list)
    seconds: float = 0.0


def run_baseline(
    client: docker.DockerClient,
    image: str,
    *,
    runs: int,
    test_cmd: str,
    owner: str,
    instance: str,
    timeout: float = 900,
    limits: Limits | None = None,
    on_line: LineCallback = lambda line: None,
) -> Baseline:
    """Run the whole suite `runs` times in one sandbox (surface on the first run)."""
    out = testrun.OutDir()
    started = time.monotonic()
    try:
        with Sandbox(client, image, kind="baseline", owner=owner, instance=instance,
                     limits=limits, mounts=testrun.mounts(out)) as box:
            results: list[testrun.TestRun] = []
            for i in range(max(2, runs)):
                on_line(f"baseline run {i + 1}/{max(2, runs)}: {test_cmd}")
                run = testrun.run_tests(box, out, test_cmd=test_cmd, timeout=timeout, surface=(i == 0))
                on_line(f"  {run.counts} in {run.seconds:.1f} s (exit {run.exit_code})")
                results.append(run)
            raw = results[0].surface or {}
            info = surf.image_info(box, out, raw) if raw else {}
    finally:
        out.cleanup()
    baseline = summarize_runs(results)
    surface = surf.summarize(raw, info) if raw else {}
    return Baseline(baseline, surface, results, time.monotonic() - started)


def summarize_runs(runs: list[testrun.TestRun]) -> dict:
    """Per-test outcomes of the first run, the flaky set and counts (docs/architecture.md)."""
    ids = sorted(set().union(*(r.outcomes for r in runs)))
    tests, flaky = {}, []
    for tid in ids:
        seen = [r.outcomes.get(tid) for r in runs]
        outcomes = {o.outcome if o else "missing" for o in seen}
        first = next(o for o in seen if o)
        if len(outcomes) > 1:
            flaky.append(tid)
        tests[tid] = {
            "outcome": first.outcome,
            "duration": round(max(o.duration for o in seen if o), 4),
            "message": first.message,
            "outcomes": [o.outcome if o else "missing" for o in seen] if len(outcomes) > 1 else None,
        }
    flaky_set = set(flaky)
    counts = Counter(t["outcome"] for tid, t in tests.items() if tid not in flaky_set)
    stable_passing = [tid for tid, t in tests.items() if tid not in flaky_set and t["outcome"] == "passed"]
    slowest = sorted(tests, key=lambda t: tests[t]["duration"], reverse=True)[:10]
    return {
        "runs": [{"seconds": round(r.seconds, 3), "exit_code": r.exit_code, "counts": r.counts,
                  "error": r.error} for r in runs],
        "tests": tests,
        "flaky": flaky,
        "counts": {
            "passed": counts["passed"], "failed": counts["failed"], "error": counts["error"],
            "skipped": counts["skipped"], "flaky": len(flaky), "total": len(tests),
        },
        "stable_passing": stable_passing,
        "slowest": [{"id": t, "duration": tests[t]["duration"]} for t in slowest],
    }


def failure_reason(baseline: dict, minimum: int) -> str:
    """Empty when the gold is usable; otherwise one line saying why, with the commonest error."""
    counts = baseline.get("counts") or {}
    passing = len(baseline.get("stable_passing") or [])
    if passing >= minimum:
        return ""
    total = counts.get("total", 0)
    if not total:
        errors = [r.get("error") for r in baseline.get("runs") or [] if r.get("error")]
        return f"no tests ran: {_key_line(errors[0]) if errors else 'pytest collected nothing'}"
    messages = Counter(
        _key_line(t["message"]) for t in (baseline.get("tests") or {}).values()
        if t["outcome"] in ("failed", "error") and t["message"]
    )
    cause = f": {messages.most_common(1)[0][0]}" if messages else ""
    flaky = f" ({counts.get('flaky', 0)} flaky)" if counts.get("flaky") else ""
    return f"{passing} of {total} tests pass{flaky}{cause}"


def _key_line(message: str) -> str:
    """The most telling line of a failure: the last `SomeError: ...` line, else the first line."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    for line in reversed(lines):
        stripped = re.sub(r"^E\s+", "", line)
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Exit)\b:?", stripped):
            return stripped[:300]
    return (lines[0] if lines else message)[:300]
