"""`studio trajectories export CATALOG --out F.jsonl [--min-steps N] [--raw-dir DIR]`: successful repair
trajectories as SFT JSONL (and the raw ATIF files)."""

from __future__ import annotations

from studio.lib.cli import CliResult
from tasks.services.trajectories import trajectories_export


def _export(options, stdout) -> CliResult:
    data = trajectories_export(
        catalog_name=options["catalog"],
        out=options["out"],
        min_steps=options["min_steps"],
        raw_dir=options["raw_dir"] or "",
        passed_only=not options["all"],
    )
    dropped = ", ".join(f"{k} {n}" for k, n in data["dropped"].items()) or "none"
    return CliResult(
        data=data, text=f"wrote {data['trajectories']} trajectories to {data['path']} (dropped: {dropped})"
    )


def register(groups) -> None:
    traj = groups.add_parser("trajectories", help="Export successful repair trajectories").add_subparsers(
        dest="verb", required=True
    )
    ex = traj.add_parser(
        "export", help="SFT JSONL (chat messages with tool calls) of a catalog's solved tasks"
    )
    ex.add_argument("catalog")
    ex.add_argument("--out", required=True)
    ex.add_argument("--min-steps", type=int, default=0, help="drop trajectories with fewer acting turns")
    ex.add_argument("--raw-dir", help="also write the raw ATIF files here")
    ex.add_argument(
        "--all", action="store_true", help="failed trials too (analysis, not SFT; the record has the reward)"
    )
    ex.set_defaults(handler=_export)
