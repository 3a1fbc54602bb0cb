"""`studio repo add pypi:NAME==VER | git:URL@REF | path:DIR [--name N]` (idempotent) and `studio repo list`."""

from __future__ import annotations

import sys

from inversion.selectors.repositories import repository_rows
from inversion.services.repositories import repository_add_spec
from studio.lib.cli import CliResult, table


def register(groups) -> None:
    parser = groups.add_parser("repo", help="Repositories")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add", help="Add a repository (the same source again returns the existing one)")
    add.add_argument("spec", help="pypi:NAME==VER | git:URL@REF | path:DIR")
    add.add_argument("--name", default="", help="Repository name (default: derived from the source)")
    add.set_defaults(handler=handle_add)
    ls = verbs.add_parser("list", help="List repositories with their newest gold's state")
    ls.set_defaults(handler=handle_list)


def handle_add(options: dict, stdout) -> CliResult:
    def progress(line: str) -> None:  # stderr: stdout carries the result (JSON with --json)
        sys.stderr.write(f"{line}\n")

    repo, created = repository_add_spec(spec=options["spec"], name=options["name"], progress=progress)
    data = {"id": repo.id, "name": repo.name, "source": repo.spec, "resolved": repo.resolved, "created": created}
    verb = "added" if created else "exists"
    return CliResult(data=data, text=f"{verb}: repository {repo.id} {repo.name} ({repo.spec})")


def handle_list(options: dict, stdout) -> CliResult:
    rows = repository_rows()
    text = table(rows, ["id", "name", "status", "gold", "gold_status", "source"]) or "no repositories"
    return CliResult(data={"repositories": rows}, text=text)
