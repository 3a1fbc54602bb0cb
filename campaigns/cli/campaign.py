"""`studio campaign run --sources FILE --episodes-per-gold N [--agent builtin|llm] [--wait]`,
`studio campaign status ID`, and `pause|resume|cancel ID`.

`run` checks every line of FILE first (a bad line is one error naming each). In the embedded mode
`--wait` starts the in-process worker, which drives the campaign to its end here; without it the
campaign goes on in the next studio process (`studio_serve`), or on the workers in the scale mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaigns.selectors.campaigns import campaign_get, campaign_report
from campaigns.services.campaigns import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_wait,
)
from studio.lib.cli import CliResult, table
from studio.lib.exceptions import ApplicationError

ACTIONS = {"pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel}


def register(groups: Any) -> None:
    group = groups.add_parser("campaign", help="campaigns over many sources")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    run = verbs.add_parser("run", help="start a campaign over a source list (and wait for it)")
    run.add_argument("--sources", required=True, help="file: one pypi:/git:/path: spec or NAME==VER a line")
    run.add_argument("--episodes-per-gold", type=int, default=1)
    run.add_argument("--agent", default="builtin", help="builtin, llm, or a mix: builtin=3,llm=1")
    run.add_argument("--directions", default="")
    run.add_argument("--target", type=int, default=None, help="stop once this many valid tasks exist")
    run.add_argument("--name", default="")
    run.add_argument("--seed", type=int, default=None, help="seed the agents (reproducible campaigns)")
    run.add_argument("--wait", action="store_true", help="block until the campaign ends")
    run.add_argument("--timeout", type=float, default=6 * 3600, help="seconds to wait")
    run.set_defaults(handler=_run, needs_worker="wait")
    status = verbs.add_parser("status", help="a campaign's report")
    status.add_argument("id", type=int)
    status.set_defaults(handler=_status)
    for verb in ACTIONS:
        act = verbs.add_parser(verb, help=f"{verb} a campaign")
        act.add_argument("id", type=int)
        act.set_defaults(handler=_act, action=verb)


def _run(options: dict, stdout: Any) -> CliResult:
    path = Path(options["sources"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ApplicationError(f"cannot read {path}: {exc}") from exc
    campaign = campaign_start(sources=text, episodes_per_gold=options["episodes_per_gold"], agent_mix=options["agent"],
                              directions=options["directions"], target_tasks=options["target"], name=options["name"],
                              seed=options["seed"])
    if options["wait"]:
        campaign = campaign_wait(campaign=campaign, timeout=options["timeout"])
    return _result(campaign)


def _status(options: dict, stdout: Any) -> CliResult:
    return _result(campaign_get(campaign_id=options["id"]))


def _act(options: dict, stdout: Any) -> CliResult:
    return _result(ACTIONS[options["action"]](campaign=campaign_get(campaign_id=options["id"])))


def _result(campaign) -> CliResult:
    report = campaign_report(campaign=campaign)
    t = report["totals"]
    rows = [{"line": r["line"], "spec": r["spec"], "stage": r["stage"], "gold": r["gold_status"], "engine": r["engine"],
             "episodes": r["episodes"], "valid": r["valid_tasks"], "reason": r["reason"]} for r in report["sources"]]
    lines = [f"campaign #{report['id']} {report['status']}" + (f": {report['outcome']}" if report["outcome"] else ""),
             table(rows, ["line", "spec", "stage", "gold", "engine", "episodes", "valid", "reason"]),
             f"{t['valid_tasks']} valid tasks from {t['episodes_ended']} episodes in {t['seconds']:.0f} s "
             f"({t['tasks_per_hour']} tasks/hour)"]
    lines += [f"  {f['count']} x {f['reason']}" for f in report["failures"]]
    return CliResult(data=report, text="\n".join(lines))
