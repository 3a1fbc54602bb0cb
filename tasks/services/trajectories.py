"""Repair trajectories for fine-tuning: a catalog's successful ATIF trajectories as SFT JSONL (one
conversation per line) and as the raw files, with CLI-Gym's filters.

Kept: passed trials of real solvers (not oracle/nop) with an ATIF trajectory and at least
`min_steps` acting turns. Dropped: a trial whose verifier reported tampering (the gold's integrity
manifest: tests or project source changed), one whose commands wrote to the tests, and all but
the shortest trajectory per task (deduplicated per task).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from pathlib import Path

from tasks.engine import atif
from tasks.engine.harbor import BASELINE_AGENTS
from tasks.models import Catalog, Trial
from tasks.selectors.catalogs import catalog_get


def trajectories_collect(
    *, catalog: Catalog, min_steps: int = 0, passed_only: bool = True
) -> tuple[list[tuple[Trial, dict]], Counter]:
    """(trial, ATIF document) pairs that pass the filters, one per task, and why the others were dropped.
    `passed_only=False` keeps failed trials too (one per task and reward; for analysis, not SFT)."""
    dropped: Counter = Counter()
    best: dict[str, tuple[Trial, dict]] = {}
    trials = (
        Trial.objects.filter(run__version__catalog=catalog, trajectory_kind="atif")
        .filter(**({"passed": True} if passed_only else {}))
        .exclude(run__agent__in=BASELINE_AGENTS)
        .select_related("run", "task")
        .order_by("pk")
    )
    for trial in trials:
        doc = atif.load(trial.trajectory)
        if doc is None:
            dropped["not ATIF JSON"] += 1
        elif trial.steps < min_steps:
            dropped["fewer steps than asked"] += 1
        elif atif.tampered_lines(trial.verifier_output, own=(trial.task.integrity or {}).get("dirty") or ()):
            dropped["verifier reported tampering"] += 1
        elif atif.touched_protected(doc):
            dropped["wrote to the tests"] += 1
        elif (key := (trial.task.slug, trial.passed)) in best and best[key][0].steps <= trial.steps:
            dropped["duplicate of a shorter one for the task"] += 1
        else:
            if key in best:
                dropped["duplicate of a shorter one for the task"] += 1
            best[key] = (trial, doc)
    return [best[k] for k in sorted(best, key=lambda k: (k[0], not k[1]))], dropped


def _record(trial: Trial, doc: dict) -> dict:
    return atif.sft_record(
        doc,
        task=trial.export_id,
        solver=trial.run.agent,
        model=trial.run.model,
        reward=trial.reward,
        trial=trial.name,
    )


def trajectories_jsonl(*, catalog: Catalog, min_steps: int = 0) -> tuple[bytes, int]:
    """The JSONL bytes (for the download button) and the number of lines."""
    kept, _ = trajectories_collect(catalog=catalog, min_steps=min_steps)
    lines = [json.dumps(_record(t, d), ensure_ascii=False, sort_keys=True) for t, d in kept]
    return ("\n".join(lines) + "\n" if lines else "").encode(), len(lines)


def trajectories_raw_zip(*, catalog: Catalog, min_steps: int = 0) -> bytes:
    """The kept trajectories as Harbor wrote them: `<task>/<trial>.trajectory.json` in a zip."""
    kept, _ = trajectories_collect(catalog=catalog, min_steps=min_steps)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for trial, _doc in kept:
            zf.writestr(f"{trial.export_id}/{trial.name}.trajectory.json", trial.trajectory)
    return buf.getvalue()


def trajectories_export(
    *, catalog_name: str, out: str, min_steps: int = 0, raw_dir: str = "", passed_only: bool = True
) -> dict:
    """The CLI path: write the JSONL (and the raw ATIF files into `raw_dir`); counts for --json."""
    catalog = catalog_get(name=catalog_name)
    kept, dropped = trajectories_collect(catalog=catalog, min_steps=min_steps, passed_only=passed_only)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for trial, doc in kept:
            fh.write(json.dumps(_record(trial, doc), ensure_ascii=False, sort_keys=True) + "\n")
    if raw_dir:
        for trial, _doc in kept:
            raw = Path(raw_dir) / trial.export_id / f"{trial.name}.trajectory.json"
            raw.parent.mkdir(parents=True, exist_ok=True)
            raw.write_text(trial.trajectory)
    return {
        "trajectories": len(kept),
        "path": str(path),
        "raw_dir": raw_dir or None,
        "catalog": catalog.name,
        "dropped": dict(dropped),
    }
