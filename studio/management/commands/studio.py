"""The headless CLI: `manage.py studio <group> <verb> [--json]`, through the same services as the UI.

Each app contributes verb groups from its `cli/` package (a module exposing `register(subparsers)`);
a handler takes the parsed args and returns a `CliResult`. `--json` is accepted anywhere on the line.
Errors become one line on stderr and a non-zero exit: domain errors (`ApplicationError`) as they
are, an unmigrated database with what to run, anything else as `Type: message` (`--traceback`
shows the traceback).
"""

from __future__ import annotations

import importlib
import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from studio.lib.cli import CliResult
from studio.lib.exceptions import ApplicationError

CLI_MODULES = [
    "inversion.cli.repo",
    "inversion.cli.gold",
    "inversion.cli.episodes",
    "inversion.cli.llm",
    "tasks.cli.tasks",
    "tasks.cli.catalog",
    "campaigns.cli.campaign",
    "tasks.cli.solve",
    "tasks.cli.trajectories",
]
JSON_FLAG = "--json"


def _pending_migrations() -> int:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class Command(BaseCommand):
    help = "Task Studio headless CLI (repo, gold, episodes, tasks, catalog, llm); add --json for machine output."

    def create_parser(self, prog_name, subcommand, **kwargs):
        """Take `--json` out wherever it stands (argparse only knows it before the group), then parse."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse = parser.parse_args

        def parse_anywhere(args=None, namespace=None):
            args = list(sys.argv[2:] if args is None else args)
            end = args.index("--") if "--" in args else len(args)
            found = JSON_FLAG in args[:end]
            args = [a for i, a in enumerate(args) if not (i < end and a == JSON_FLAG)]
            options = parse(args, namespace)
            options.json = bool(getattr(options, "json", False) or found)
            return options

        parser.parse_args = parse_anywhere
        return parser

    def add_arguments(self, parser):
        parser.add_argument(JSON_FLAG, action="store_true", help="Print machine-readable JSON (anywhere on the line)")
        groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
        for name in CLI_MODULES:
            importlib.import_module(name).register(groups)

    def handle(self, *args, **options):
        handler = options.get("handler")
        if handler is None:
            raise CommandError("missing verb; see `manage.py studio --help`")
        if options.get("needs_db", True):
            try:
                pending = _pending_migrations()
            except DatabaseError as exc:
                raise CommandError(f"the database cannot be read: {exc}") from exc
            if pending:
                raise CommandError(f"the database is not migrated ({pending} migrations pending): "
                                   "run `manage.py migrate` first")
        need = options.get("needs_worker")  # True, or the name of the flag that asks for it (`wait`)
        if (options.get(need) if isinstance(need, str) else need) and settings.EMBEDDED:
            from studio.embedded import start_embedded_worker  # the memory:// broker lives in this process

            start_embedded_worker()
        try:
            result: CliResult = handler(options, self.stdout)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except (CommandError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            if options.get("traceback"):
                raise
            raise CommandError(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                               ) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.data, indent=None, sort_keys=False, default=str))
        else:
            self.stdout.write(result.text)
        if result.exit_code:
            raise SystemExit(result.exit_code)
