"""`studio gold build REPO` (build or reuse, print the baseline summary) and `studio gold list [--repo R]`."""

from __future__ import annotations

from inversion.models import GoldEnvironment
from inversion.selectors.golds import gold_list, gold_row
from inversion.selectors.repositories import repository_get
from inversion.services.golds import gold_build
from studio.lib.cli import CliResult, table


def register(groups) -> None:
    parser = groups.add_parser("gold", help="Gold environments")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    build = verbs.add_parser("build", help="Build or reuse the gold environment of a repository")
    build.add_argument("repo", help="Repository id or name")
    build.set_defaults(handler=handle_build)
    ls = verbs.add_parser("list", help="List gold environments")
    ls.add_argument("--repo", default="", help="only this repository (name)")
    ls.set_defaults(handler=handle_list)


def handle_build(options: dict, stdout) -> CliResult:
    gold = gold_build(repository=repository_get(key=options["repo"]))
    data = gold_row(gold)
    b = data["baseline"]
    attempts = [f"attempt {a['n']}: {a['change']} -> {a['status']}" + (f" ({a['reason']})" if a["reason"] else "")
                for a in data["attempts"]] if len(data["attempts"]) > 1 else []
    text = "\n".join([
        f"gold {gold.id} {gold.status}{' (reused)' if gold.reused else ''}: {gold.image}", *attempts,
        f"passed {b['passed']}, failed {b['failed']}, skipped {b['skipped']}, flaky {b['flaky']}, "
        f"order-dependent {b['order_dependent']}",
        *([gold.error] if gold.error else []),
    ])
    return CliResult(data=data, text=text, exit_code=0 if gold.status == GoldEnvironment.Status.READY else 1)


def handle_list(options: dict, stdout) -> CliResult:
    rows = [gold_row(g) for g in gold_list(repository=options["repo"])]
    flat = [{**r, "passed": r["baseline"]["passed"]} for r in rows]
    text = table(flat, ["id", "repo_name", "status", "passed", "image", "error"]) or "no gold environments"
    return CliResult(data={"golds": rows}, text=text)
