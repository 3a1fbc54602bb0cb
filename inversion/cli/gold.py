"""`studio gold build REPO`: build (or reuse) the gold environment and print its baseline summary."""

from __future__ import annotations

from inversion.models import GoldEnvironment
from inversion.selectors import repository_get
from inversion.services.golds import gold_build, gold_summary
from studio.lib.cli import CliResult


def register(groups) -> None:
    parser = groups.add_parser("gold", help="Gold environments")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    build = verbs.add_parser("build", help="Build or reuse the gold environment of a repository")
    build.add_argument("repo", help="Repository id or name")
    build.set_defaults(handler=handle_build)


def handle_build(options: dict, stdout) -> CliResult:
    gold = gold_build(repository=repository_get(key=options["repo"]))
    data = gold_summary(gold)
    b = data["baseline"]
    text = (
        f"gold {gold.id} {gold.status}{' (reused)' if gold.reused else ''}: {gold.image}\n"
        f"passed {b['passed']}, failed {b['failed']}, skipped {b['skipped']}, flaky {b['flaky']}"
        + (f"\n{gold.error}" if gold.error else "")
    )
    return CliResult(data=data, text=text, exit_code=0 if gold.status == GoldEnvironment.Status.READY else 1)
