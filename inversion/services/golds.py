"""Writes for gold environments: prepare (Dockerfile + content hash), build + baseline, enqueue.

An unchanged repository (same Dockerfile, CA bundle and sources) reuses its ready gold and
image without rebuilding or re-running the baseline. Build log lines are batched into
`BuildEvent` rows (stored, then broadcast) so a chatty build writes a few rows per second.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from inversion.engine.gold import build as gold_image
from inversion.engine.gold import era, setup_loop
from inversion.engine.gold.baseimage import image_present
from inversion.engine.gold.build import remove_image
from inversion.engine.gold.diagnosis import Context, has_native_sources, project_modules
from inversion.engine.gold.dockerfile import SetupPlan
from inversion.engine.runtime import labels as lbl
from inversion.engine.runtime.testrun import DEFAULT_TEST_CMD
from inversion.models import BuildEvent, GoldEnvironment, Repository
from inversion.selectors.golds import gold_dockerfile, install_command_for
from studio.lib.broadcast import broadcast, stream_group
from studio.lib.cabundle import extra_ca_bundle
from studio.lib.dockerctx import docker_client, docker_status, engine_id
from studio.lib.exceptions import ApplicationError
from studio.lib.jobs import dispatch, engine_queue
from studio.lib.text import storable
from studio.lib.workers import worker_id

FLUSH_SECONDS = 0.5
MAX_STORED_LOG = 2_000_000
BUILD_JOB = "inversion.jobs.gold_build_job"


def gold_prepare(*, repository: Repository, reuse: bool = True, engine: str = "") -> GoldEnvironment:
    """A ready gold with the same content hash whose image still exists, else a new queued gold.
    With `engine` (a campaign placing work on several engines) only a gold on that engine counts:
    images are built per engine by content hash, never copied between engines."""
    if repository.status == Repository.Status.FETCHING:
        raise ApplicationError(f"the source of {repository.name} is still being fetched; build when it is ready")
    if repository.status == Repository.Status.FAILED:
        raise ApplicationError(f"the source of {repository.name} could not be fetched: {repository.error}")
    if not repository.snapshot_path or not Path(repository.snapshot_path).is_dir():
        raise ApplicationError(f"the sources of {repository.name} are missing; add the repository again")
    dockerfile = gold_dockerfile(repository=repository)
    chash = gold_image.content_hash(dockerfile, Path(repository.snapshot_path), extra_ca_bundle())
    test_cmd = repository.test_cmd or (repository.summary or {}).get("test_cmd") or DEFAULT_TEST_CMD
    ready = repository.golds.filter(
        status=GoldEnvironment.Status.READY, content_hash=chash, test_cmd=test_cmd
    )
    ready = ready.filter(engine=engine).first() if engine else ready.first()
    # another engine's image is not checked from here: its workers rebuild it if it went missing
    if reuse and ready and (engine or _image_exists(ready.image)):
        ready.cached = True  # returned without building or testing again
        return ready
    return GoldEnvironment.objects.create(
        repository=repository, dockerfile=dockerfile, content_hash=chash, test_cmd=test_cmd,
        image=gold_image.image_tag(repository.name, chash), engine=engine,
    )


def _image_exists(tag: str) -> bool:
    if not docker_status().ok:
        return False
    client = docker_client()
    try:
        return image_present(client, tag)
    finally:
        client.close()


class _LogWriter:
    """Collects log lines and stores them as numbered BuildEvent rows, at most every FLUSH_SECONDS."""

    def __init__(self, gold: GoldEnvironment) -> None:
        self.gold = gold
        self.seq = gold.log_events.aggregate(m=Max("seq"))["m"] or 0
        self.pending: list[str] = []
        self.text: list[str] = [gold.build_log] if gold.build_log else []
        self.last_flush = time.monotonic()

    def __call__(self, line: str) -> None:
        self.pending.append(line.rstrip("\n") + "\n")
        if time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        chunk, self.pending = "".join(self.pending), []
        self.seq += 1
        BuildEvent.objects.create(gold=self.gold, seq=self.seq, text=chunk)
        self.text.append(chunk)
        broadcast(stream_group("golds", self.gold.id), {"seq": self.seq})

    def full_text(self) -> str:
        text = "".join(self.text)
        return text if len(text) <= MAX_STORED_LOG else text[-MAX_STORED_LOG:]


def _set(gold: GoldEnvironment, log: _LogWriter | None = None, **fields) -> None:
    for key, value in fields.items():
        setattr(gold, key, value)
    if log is not None:
        log.flush()
        gold.build_log = log.full_text()
        fields["build_log"] = gold.build_log
    gold.save(update_fields=list(fields))


def gold_execute(*, gold: GoldEnvironment, nocache: bool = False) -> GoldEnvironment:
    """Run the set-up loop (build, baseline, diagnose, change, again) and keep the best attempt; the
    gold ends ready or failed, every attempt recorded and streamed as it ends.

    `nocache` rebuilds every layer (benchmarks, or a curator distrusting the layer cache).
    """
    claimed = GoldEnvironment.objects.filter(pk=gold.pk, status=GoldEnvironment.Status.QUEUED).update(
        status=GoldEnvironment.Status.BUILDING, worker=worker_id(), engine=engine_id()
    )
    if not claimed:  # ready or failed already, or another worker is building it (a redelivered job)
        gold.refresh_from_db()
        return gold
    gold.status, gold.engine = GoldEnvironment.Status.BUILDING, engine_id()
    log = _LogWriter(gold)
    status = docker_status(fresh=True)
    if not status.ok:
        _set(gold, log, status=GoldEnvironment.Status.FAILED, error=f"Docker is unreachable: {status.detail}",
             failure_kind="docker", finished_at=timezone.now())
        return gold
    repo = gold.repository
    inputs = setup_inputs(repository=repo, gold=gold, nocache=nocache)
    _set(gold, first_dockerfile=gold.dockerfile, attempts=[])
    client = docker_client(timeout=1800)

    def on_attempt(attempt: setup_loop.Attempt) -> None:
        gold.attempts = [*gold.attempts, attempt.as_dict()]
        status = GoldEnvironment.Status.TESTING if attempt.status == "ready" else GoldEnvironment.Status.BUILDING
        _set(gold, log, attempts=gold.attempts, status=status)

    try:
        log(f"building {gold.image} from {repo.spec}")
        outcome = setup_loop.run_setup(client, inputs, on_line=log, on_attempt=on_attempt)
        _discard_images(client, outcome.discarded, keep=gold.pk)
    except Exception as exc:
        _set(gold, log, status=GoldEnvironment.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
             failure_kind="error", finished_at=timezone.now())
        raise
    finally:
        client.close()
    best = outcome.best
    if best is None:
        last = outcome.attempts[-1]
        tried = outcome.baseline  # kept so the curator sees which tests failed and how
        _set(gold, log, status=GoldEnvironment.Status.FAILED, error=outcome.error, failure_kind=outcome.kind,
             dockerfile=last.dockerfile, test_cmd=last.test_cmd, build_seconds=last.build_seconds,
             baseline=tried.baseline if tried else {}, finished_at=timezone.now())
        return gold
    result = outcome.baseline
    if len(outcome.attempts) > 1:
        log(f"kept attempt {best.n} of {len(outcome.attempts)}: {best.passing} stably passing tests")
    _set(
        gold, log, dockerfile=best.dockerfile, test_cmd=best.test_cmd, image=best.image, image_id=best.image_id,
        reused=best.reused, build_seconds=best.build_seconds, baseline=result.baseline, surface=result.surface,
        integrity=result.integrity, test_seconds=round(result.seconds, 3), status=GoldEnvironment.Status.READY,
        error="", failure_kind="", finished_at=timezone.now(),
    )
    return gold


def setup_inputs(*, repository: Repository, gold: GoldEnvironment, nocache: bool = False) -> setup_loop.SetupInputs:
    """What the set-up loop starts from: the synthesized plan (or the curator's Dockerfile, built as is),
    the release's date for "as of" pins, and the index to ask."""
    snapshot = Path(repository.snapshot_path)
    override = repository.dockerfile_override.strip()
    plan = None if override else SetupPlan(install=install_command_for(repository))
    index = era.Index(settings.STUDIO_PYPI_INDEX)
    released = era.parse_when((repository.summary or {}).get("released") or (repository.summary or {}).get("uploaded") or "")
    context = Context(
        version=_version_of_ref(repository), project_modules=project_modules(snapshot),
        dist=repository.name if repository.kind == Repository.Kind.PYPI else "",
        native=has_native_sources(snapshot),
        era_pins=lambda names: index.pins(names, released), dist_exists=index.exists, newest=index.newest,
    )
    return setup_loop.SetupInputs(
        name=repository.name, snapshot=snapshot, base_test_cmd=gold.test_cmd, base_image=settings.STUDIO_BASE_IMAGE,
        labels=lbl.labels("gold", f"repo:{repository.id}", settings.STUDIO_INSTANCE), owner=f"gold:{gold.id}",
        instance=settings.STUDIO_INSTANCE, plan=plan, override=gold.dockerfile if override else "",
        ca_bundle=extra_ca_bundle(), runs=settings.STUDIO_BASELINE_RUNS, min_passing=settings.STUDIO_MIN_PASSING_TESTS,
        max_attempts=settings.STUDIO_SETUP_ATTEMPTS, build_timeout=settings.STUDIO_BUILD_TIMEOUT,
        worker=worker_id(), nocache=nocache, context=context,
    )


def _version_of_ref(repository: Repository) -> str:
    """The version a build may pretend to be when the sources carry no VCS metadata."""
    found = re.search(r"\d+(?:\.\d+)+\w*", repository.ref or "")
    return found.group(0) if found else "0.0.0"


def _discard_images(client, tags: list[str], *, keep: int) -> None:
    """Remove the images of attempts that lost, unless a ready gold (another repository's twin) uses one."""
    used = set(GoldEnvironment.objects.filter(status=GoldEnvironment.Status.READY, image__in=tags)
               .exclude(pk=keep).values_list("image", flat=True))
    for tag in tags:
        if tag not in used:
            remove_image(client, tag)


def gold_build(*, repository: Repository, nocache: bool = False) -> GoldEnvironment:
    """Synchronous build (CLI, bench): reuse a ready gold or build one now (`nocache`: always)."""
    gold = gold_prepare(repository=repository, reuse=not nocache)
    return gold_execute(gold=gold, nocache=nocache)


def gold_enqueue(*, repository: Repository) -> GoldEnvironment:
    """Queue a build on the build queue (UI); a reusable ready gold is returned as is."""
    status = docker_status()
    if not status.ok:
        raise ApplicationError(f"Docker is unreachable: {status.detail}")
    recent = timezone.now() - timedelta(hours=2)  # older ones belong to a dead worker
    active = repository.golds.filter(status__in=["queued", "building", "testing"], created_at__gte=recent).first()
    if active:
        return active
    gold = gold_prepare(repository=repository)
    if gold.status == GoldEnvironment.Status.QUEUED:
        dispatch(BUILD_JOB, gold.id)
    return gold


def gold_dispatch(*, gold: GoldEnvironment) -> None:
    """Queue the build of a queued gold on its engine's build queue (any engine when it has none)."""
    dispatch(BUILD_JOB, gold.id, queue=engine_queue("build", gold.engine) if gold.engine else None)


def gold_set_integrity(*, gold: GoldEnvironment, manifest: dict) -> GoldEnvironment:
    """Keep the verifier's manifest of a gold that was built before the studio took one at build time."""
    GoldEnvironment.objects.filter(pk=gold.pk).update(integrity=storable(manifest))
    gold.integrity = manifest
    return gold
