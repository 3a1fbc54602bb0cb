"""`studio catalog export NAME [--version N] --format harbor|tb1|jsonl|all --out FILE.zip`."""

from __future__ import annotations

import argparse

from studio.lib.cli import CliResult
from studio.lib.exceptions import ApplicationError
from tasks.models import Catalog
from tasks.services.exports import catalog_export_file


def _export(options, stdout) -> CliResult:
    catalog = Catalog.objects.filter(name=options["name"]).first()
    if catalog is None:
        raise ApplicationError(f"no catalog named {options['name']}")
    export = catalog_export_file(catalog=catalog, number=options.get("version"), formats=options["format"],
                                 out_path=options["out"])
    data = {"id": export.pk, "catalog": catalog.name, "version": export.version.number, "formats": export.formats,
            "path": export.path, "sha256": export.sha256, "size": export.size, "tasks": export.version.entries.count()}
    return CliResult(data=data, text=f"wrote {export.path} ({export.size} bytes, sha256 {export.sha256})")


def register(groups) -> None:
    group = groups.add_parser("catalog", help="Export catalogs").add_subparsers(dest="verb", required=True)
    ex = group.add_parser("export", help="Export a catalog version as a zip")
    ex.add_argument("name")
    ex.add_argument("--version", type=int, help="version number (default: the latest)")
    ex.add_argument("--format", action="append", required=True, choices=["harbor", "tb1", "jsonl", "all"],
                    help="repeatable")
    ex.add_argument("--out", required=True)
    ex.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="Print machine-readable JSON")
    ex.set_defaults(handler=_export)
