"""The headless CLI: `manage.py studio <group> <verb> [--json]`, through the same services as the UI.

Each app contributes verb groups from its `cli/` package (a module exposing `register(subparsers)`);
a handler takes the parsed args and returns a `CliResult`. Errors from the domain
(`ApplicationError`) become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import importlib
import importlib.util
import json

from django.core.management.base import BaseCommand, CommandError

from studio.lib.cli import CliResult
from studio.lib.exceptions import ApplicationError

CLI_MODULES = [
    "inversion.cli.repo",
    "inversion.cli.gold",
    "inversion.cli.episodes",
    "inversion.cli.llm",
    "tasks.cli.tasks",
    "tasks.cli.catalog",
]


class Command(BaseCommand):
    help = "Task Studio headless CLI (repo, gold, episodes, tasks, catalog, llm); add --json for machine output."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print machine-readable JSON")
        groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
        for name in CLI_MODULES:
            if importlib.util.find_spec(name) is None:
                continue
            importlib.import_module(name).register(groups)

    def handle(self, *args, **options):
        handler = options.get("handler")
        if handler is None:
            raise CommandError("missing verb; see `manage.py studio --help`")
        try:
            result: CliResult = handler(options, self.stdout)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.data, indent=None, sort_keys=False, default=str))
        else:
            self.stdout.write(result.text)
        if result.exit_code:
            raise SystemExit(result.exit_code)
