"""`studio episodes run GOLD --agent builtin|llm --count N [--directions TEXT] [--faults N] [--network]
[--whole-share F]`
and `studio episodes list`.

`run` goes through the same jobs as the UI (episode queue, then validate queue) and waits; in the
embedded mode the management command starts the in-process worker first (`needs_worker`).
"""

from __future__ import annotations

from typing import Any

from inversion.selectors.episodes import episode_filtered, episode_row
from inversion.selectors.golds import gold_get
from inversion.services.episodes import episode_batch_run
from studio.lib.cli import CliResult, table


def register(groups: Any) -> None:
    group = groups.add_parser("episodes", help="inversion episodes")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    run = verbs.add_parser("run", help="run N episodes on a gold environment and wait for their tasks")
    run.add_argument("gold", type=int, help="gold environment id")
    run.add_argument("--agent", choices=["builtin", "llm"], default="builtin")
    run.add_argument("--count", type=int, default=1)
    run.add_argument("--directions", default="")
    run.add_argument("--faults", type=int, default=1, choices=[1, 2, 3], help="faults per task (compound: 2-3)")
    run.add_argument("--network", action="store_true", help="let episodes reach the package index")
    run.add_argument("--whole-share", type=float, default=None,
                     help="largest share of a gold's tasks that may fail its whole suite (default 0.3; 1: no cap)")
    run.add_argument("--model", default="", help="LLM model (default: STUDIO_LLM_MODEL)")
    run.add_argument("--base-url", default="", help="LLM endpoint (default: OPENAI_BASE_URL)")
    run.add_argument("--max-steps", type=int, default=None)
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the batch")
    run.set_defaults(handler=_run, needs_worker=True)
    ls = verbs.add_parser("list", help="list episodes (newest 200)")
    ls.add_argument("--gold", type=int, default=None)
    ls.add_argument("--status", default="")
    ls.add_argument("--repo", default="", help="repository name")
    ls.set_defaults(handler=_list)


def _run(options: dict, stdout: Any) -> CliResult:
    budget = {"max_steps": options["max_steps"]} if options["max_steps"] else None
    done = episode_batch_run(gold=gold_get(gold_id=options["gold"]), count=options["count"], agent=options["agent"],
                             model=options["model"], base_url=options["base_url"], budget=budget,
                             directions=options["directions"], seed=options["seed"], timeout=options["timeout"],
                             faults=options["faults"], network=options["network"], whole_share=options["whole_share"])
    rows = [episode_row(e) for e in done]
    lines = [f"episode #{r['id']}: {r['status']}"
             + (f" -> task #{r['task_id']}" if r["task_id"] else "")
             + (f" (failed rule: {r['failed_rule']})" if r["failed_rule"] else "")
             + (f" {r['signature']['label']}" if r["signature"] else "")
             + f" [{r['steps']} steps, {r['total_tokens']} tokens]" for r in rows]
    made = sum(1 for r in rows if r["task_id"])
    lines.append(f"{made} of {len(rows)} episodes made a draft task")
    return CliResult(data={"episodes": rows}, text="\n".join(lines))


def _list(options: dict, stdout: Any) -> CliResult:
    qs = episode_filtered(repository=options["repo"], status=options["status"], gold=options["gold"])
    rows = [episode_row(e) for e in qs.order_by("-pk")[:200]]
    text = table(rows, ["id", "gold", "status", "category", "task_id", "steps", "failed_rule"]) or "no episodes"
    return CliResult(data={"episodes": rows}, text=text)
