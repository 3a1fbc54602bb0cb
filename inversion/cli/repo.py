"""`studio repo add pypi:NAME==VER | git:URL@REF | path:DIR [--name N]`: idempotent add."""

from __future__ import annotations

from inversion.services.repositories import repository_add_spec
from studio.lib.cli import CliResult


def register(groups) -> None:
    parser = groups.add_parser("repo", help="Repositories")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add", help="Add a repository (the same source again returns the existing one)")
    add.add_argument("spec", help="pypi:NAME==VER | git:URL@REF | path:DIR")
    add.add_argument("--name", default="", help="Repository name (default: derived from the source)")
    add.set_defaults(handler=handle_add)


def handle_add(options: dict, stdout) -> CliResult:
    repo, created = repository_add_spec(spec=options["spec"], name=options["name"])
    data = {"id": repo.id, "name": repo.name, "source": repo.spec, "resolved": repo.resolved, "created": created}
    verb = "added" if created else "exists"
    return CliResult(data=data, text=f"{verb}: repository {repo.id} {repo.name} ({repo.spec})")
