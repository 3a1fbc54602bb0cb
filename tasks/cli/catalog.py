"""`studio catalog export NAME [--version N] --format harbor|tb1|jsonl|all --out FILE.zip`,
`studio catalog import FILE.zip [--as NAME] [--user U]` and `studio catalog diversity NAME [--version N]`."""

from __future__ import annotations

from pathlib import Path

from studio.lib.cli import CliResult
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import admin_user
from tasks.selectors.catalogs import catalog_get
from tasks.selectors.diversity import catalog_diversity
from tasks.services.exports import catalog_export_file
from tasks.services.imports import catalog_import


def _export(options, stdout) -> CliResult:
    export = catalog_export_file(catalog_name=options["name"], number=options.get("version"),
                                 formats=options["format"], out_path=options["out"])
    data = {"id": export.pk, "catalog": export.version.catalog.name, "version": export.version.number,
            "formats": export.formats, "path": export.path, "sha256": export.sha256, "size": export.size,
            "tasks": export.version.entries.count()}
    return CliResult(data=data, text=f"wrote {export.path} ({export.size} bytes, sha256 {export.sha256})")


def _import(options, stdout) -> CliResult:
    path = Path(options["file"])
    if not path.is_file():
        raise ApplicationError(f"{path} is not a file")
    with path.open("rb") as fh:
        tasks = catalog_import(fileobj=fh, user=admin_user(options.get("as_user")), catalog=options["catalog"] or "")
    entry = tasks[0].catalog_entries.select_related("version__catalog").first()
    data = {"catalog": entry.version.catalog.name, "version": entry.version.number,
            "tasks": [{"id": t.pk, "slug": t.slug} for t in tasks]}
    return CliResult(data=data, text=f"imported {len(tasks)} task(s) into {data['catalog']} v{data['version']}")


def _diversity(options, stdout) -> CliResult:
    report = catalog_diversity(catalog=catalog_get(name=options["name"]), number=options.get("version"))
    top = report["largest_family"]
    lines = [f"{report['catalog']} v{report['version']}: {report['tasks']} tasks from {len(report['repositories'])} "
             f"repositories, {len(report['categories'])} categories, {len(report['families'])} families, "
             f"{report['distinct_signatures']} distinct signatures",
             f"compound {report['compound_share']:.0%} · largest family {top['name'] or '-'} {top['share']:.0%} of tasks ({top['of_faults']:.0%} of faults; "
             f"even spread {top['floor']:.0%}) · "
             f"whole-suite F2P {report['whole_suite_share']:.0%} (90 %+ of it {report['near_whole_share']:.0%}) · distinct F2P sets {report['failing_sets']['distinct']} "
             f"(commonest {report['failing_sets']['largest_share']:.0%}) · near-duplicate rate {report['near_duplicate_rate']:.0%}"]
    for title in ("categories", "families", "repositories"):
        lines.append(f"{title}: " + ", ".join(f"{k} {n}" for k, n in report[title].items()))
    for group in report["duplicates"]:
        lines.append("duplicate: " + ", ".join(t["slug"] for t in group))
    for group in report["near_duplicate_clusters"]:
        lines.append("near-duplicates: " + ", ".join(f"{t['slug']} ({t['label']})" for t in group))
    return CliResult(data=report, text="\n".join(lines))


def register(groups) -> None:
    group = groups.add_parser("catalog", help="Export, import and report on catalogs").add_subparsers(dest="verb", required=True)
    ex = group.add_parser("export", help="Export a catalog version as a zip")
    ex.add_argument("name")
    ex.add_argument("--version", type=int, help="version number (default: the latest)")
    ex.add_argument("--format", action="append", required=True, choices=["harbor", "tb1", "jsonl", "all"],
                    help="repeatable")
    ex.add_argument("--out", required=True)
    ex.set_defaults(handler=_export)
    im = group.add_parser("import", help="Import a studio zip (export --format all) as an approved catalog")
    im.add_argument("file")
    im.add_argument("--catalog", default="", help="catalog name (default: the exported one)")
    im.add_argument("--user", dest="as_user", help="admin username to record (default: the first admin)")
    im.set_defaults(handler=_import)
    dv = group.add_parser("diversity", help="Diversity report of a catalog version (categories, families, "
                                            "signatures, near-duplicate clusters)")
    dv.add_argument("name")
    dv.add_argument("--version", type=int, help="version number (default: the latest)")
    dv.set_defaults(handler=_diversity)
