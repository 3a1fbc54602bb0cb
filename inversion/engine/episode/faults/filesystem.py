"""Filesystem faults: a stale file squats a directory name that the test tooling creates.

pytest's `tmp_path` makes `$TMPDIR/pytest-of-<user>` (falling back to `pytest-of-unknown`); a
regular file left under either name makes every test that asks for a temporary directory error
at setup, while the rest pass. Deleting the stale files is the offline repair.
"""

from __future__ import annotations

import random
from typing import Any

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import base

TMP_ROOT = "/tmp"
SQUATTED = ("pytest-of-root", "pytest-of-unknown")


def tmp_path_users(surface: dict[str, Any]) -> list[str]:
    """Test files that asked pytest for a temporary directory first: tmp_path looks the user up
    through getpass on first use, so getpass shows among that file's own imports."""
    return base.used_by(base.file_modules(surface), "getpass")


class TmpRootSquatted(base.FaultFamily):
    name = "tmp_root_squatted"
    category = "filesystem"
    description = "Regular files squat the names of pytest's per-user temporary root in /tmp."
    keywords = ("filesystem", "tmp", "temporary", "tmp_path", "tmpdir", "squatted")

    def applicable(self, surface: dict[str, Any], baseline: dict[str, Any]) -> bool:
        return bool(tmp_path_users(surface))

    def plan(self, ctx: base.PlanContext, rng: random.Random) -> base.FaultPlan:
        paths = " ".join(f"{TMP_ROOT}/{n}" for n in SQUATTED)
        note = "lock file left by the nightly cleanup job; do not delete while it runs"
        cmd = f"rm -rf {paths} && for f in {paths}; do echo '{note}' > $f; done"
        return self.make(
            f"{TMP_ROOT}/{SQUATTED[0]}",
            f"regular files at {paths} where pytest creates its temporary root",
            [RunCommand(cmd)],
            [f"rm -f {paths}", f"test -w {TMP_ROOT}"],
            explore=f"ls -la {TMP_ROOT}",
        )


FAMILIES = [TmpRootSquatted]
