#!/usr/bin/env python3
"""A stand-in for `harbor run` for the fast tests of the studio's driver (watching, storing, cancel):
for each task directory under --path and each attempt it writes a trial directory with the files
a real Harbor 0.25.0 trial wrote (tests/fixtures/harbor/terminus2-trial), its task name swapped
in. FAKE_HARBOR_SLEEP=N sleeps N seconds after the first trial (a run to cancel); FAKE_HARBOR_FAIL=1
exits 3 before writing anything. The real harness runs in the `harness` tests."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "harbor" / "terminus2-trial"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("verb")
    parser.add_argument("--path", required=True)
    parser.add_argument("--jobs-dir", required=True)
    parser.add_argument("--job-name", required=True)
    parser.add_argument("--n-attempts", type=int, default=1)
    args, _ = parser.parse_known_args()
    if os.environ.get("FAKE_HARBOR_FAIL"):
        print("Error: the environment could not be built", file=sys.stderr)
        return 3
    job = Path(args.jobs_dir) / args.job_name
    job.mkdir(parents=True, exist_ok=True)
    (job / "argv.json").write_text(json.dumps(sys.argv[1:]))  # what the studio asked Harbor for
    tasks = sorted(p.name for p in Path(args.path).iterdir() if (p / "task.toml").exists())
    for n, (task, attempt) in enumerate((t, a) for t in tasks for a in range(args.n_attempts)):
        trial = job / f"{task}__fake{attempt}"
        shutil.copytree(FIXTURE, trial)
        result = json.loads((trial / "result.json").read_text())
        result.update(task_name=f"studio/{task}", trial_name=trial.name)
        (trial / "result.json").write_text(json.dumps(result))
        if n == 0 and os.environ.get("FAKE_HARBOR_SLEEP"):
            time.sleep(float(os.environ["FAKE_HARBOR_SLEEP"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
