"""`studio tasks list [--state S]` and `studio tasks approve ID... --catalog NAME [--as USER]`."""

from __future__ import annotations

from studio.lib.cli import CliResult, table
from studio.lib.roles import admin_user
from tasks.models import Task
from tasks.selectors.tasks import task_rows
from tasks.services.catalogs import catalog_approve_into


def _list(options, stdout) -> CliResult:
    rows = task_rows(state=options.get("state"))
    return CliResult(data={"tasks": rows},
                     text=table([{**r, "signature": (r["signature"] or {}).get("label", "")} for r in rows],
                               ["id", "state", "slug", "repo", "category", "fault_count", "signature", "f2p", "p2p"])
                     or "no tasks")


def _approve(options, stdout) -> CliResult:
    """Submits drafts and approves them as the admin, then adds them all to the catalog."""
    version, tasks, warnings = catalog_approve_into(catalog_name=options["catalog"], refs=options["ids"],
                                                    user=admin_user(options.get("as_user")))
    entries = version.entries.count()
    near = [{"task": w["task"].pk, "twin": w["twin"].pk, "twin_slug": w["twin"].slug, "similarity": w["similarity"]}
            for w in warnings]
    data = {"catalog": version.catalog.name, "version": version.number, "approved": [t.pk for t in tasks],
            "entries": entries, "near_duplicates": near}
    lines = [f"approved {len(tasks)} task(s); {version.catalog.name} is at version {version.number} with {entries} task(s)"]
    lines += [f"warning: task #{w['task']} is a near-duplicate of #{w['twin']} {w['twin_slug']} "
              f"(similarity {w['similarity']})" for w in near]
    return CliResult(data=data, text="\n".join(lines))


def register(groups) -> None:
    group = groups.add_parser("tasks", help="List and approve tasks").add_subparsers(dest="verb", required=True)
    ls = group.add_parser("list", help="List tasks")
    ls.add_argument("--state", choices=[s.value for s in Task.State])
    ls.set_defaults(handler=_list)
    ap = group.add_parser("approve", help="Approve tasks (as an admin) into a catalog")
    ap.add_argument("ids", nargs="+", help="task ids or slugs")
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--as", dest="as_user", help="admin username (default: the first admin)")
    ap.set_defaults(handler=_approve)
