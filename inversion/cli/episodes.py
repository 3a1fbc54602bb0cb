"""`studio episodes run GOLD --agent builtin|llm --count N [--directions TEXT]`: a batch through the jobs.

The batch goes through the same jobs as the UI (episode queue, then validate queue). In the
embedded mode the broker is in-process, so this command starts the embedded worker; with Redis
the running workers pick the jobs up. Either way it waits and prints each episode's outcome.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from inversion.models import GoldEnvironment
from inversion.services.episodes import episode_batch_launch, episode_batch_wait, episode_summary
from studio.lib.cli import CliResult
from studio.lib.exceptions import ApplicationError


def register(groups: Any) -> None:
    group = groups.add_parser("episodes", help="inversion episodes")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    run = verbs.add_parser("run", help="run N episodes on a gold environment and wait for their tasks")
    run.add_argument("gold", type=int, help="gold environment id")
    run.add_argument("--agent", choices=["builtin", "llm"], default="builtin")
    run.add_argument("--count", type=int, default=1)
    run.add_argument("--directions", default="")
    run.add_argument("--model", default="", help="LLM model (default: STUDIO_LLM_MODEL)")
    run.add_argument("--base-url", default="", help="LLM endpoint (default: OPENAI_BASE_URL)")
    run.add_argument("--max-steps", type=int, default=None)
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the batch")
    run.set_defaults(handler=_run)


def _run(options: dict, stdout: Any) -> CliResult:
    gold = GoldEnvironment.objects.filter(pk=options["gold"]).first()
    if gold is None:
        raise ApplicationError(f"no gold environment #{options['gold']}")
    if settings.EMBEDDED:
        from studio.embedded import start_embedded_worker

        start_embedded_worker()
    budget = {"max_steps": options["max_steps"]} if options["max_steps"] else None
    episodes = episode_batch_launch(golds=[gold], count=options["count"], agent=options["agent"],
                                    model=options["model"], budget=budget, directions=options["directions"],
                                    base_url=options["base_url"] or None, seed=options["seed"])
    done = episode_batch_wait(episodes=episodes, timeout=options["timeout"])
    rows = [episode_summary(e) for e in done]
    lines = [f"episode #{r['id']}: {r['status']}"
             + (f" -> task #{r['task_id']}" if r["task_id"] else "")
             + (f" (failed rule: {r['failed_rule']})" if r["failed_rule"] else "")
             + f" [{r['steps']} steps, {r['total_tokens']} tokens]" for r in rows]
    made = sum(1 for r in rows if r["task_id"])
    lines.append(f"{made} of {len(rows)} episodes made a draft task")
    return CliResult(data={"episodes": rows}, text="\n".join(lines))
