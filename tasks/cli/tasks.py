"""`studio tasks list [--state S]` and `studio tasks approve ID... --catalog NAME [--as USER]`."""

from __future__ import annotations

import argparse

from django.contrib.auth import get_user_model

from studio.lib.cli import CliResult
from studio.lib.exceptions import ApplicationError
from tasks.models import Task
from tasks.selectors import task_rows, tasks_by_ref
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tasks.services.review import task_approve, task_submit


def _admin(username: str | None):
    users = get_user_model().objects.filter(is_superuser=True, is_active=True)
    user = users.filter(username=username).first() if username else users.order_by("pk").first()
    if user is None:
        raise ApplicationError(f"no active admin user {username or ''}".strip() + " (create one: manage.py studio_admin)")
    return user


def _list(options, stdout) -> CliResult:
    rows = task_rows(state=options.get("state"))
    text = "\n".join(f"{r['id']:>5}  {r['state']:<10} {r['slug']}  ({r['repo']}, {r['category']})" for r in rows)
    return CliResult(data={"tasks": rows}, text=text or "no tasks")


def _approve(options, stdout) -> CliResult:
    """Submits drafts and approves them as the admin, then adds them all to the catalog."""
    user = _admin(options.get("as_user"))
    tasks = tasks_by_ref(options["ids"])
    for task in tasks:
        if task.state in (Task.State.DRAFT, Task.State.REJECTED):
            task = task_submit(task=task, user=user)
        if task.state == Task.State.IN_REVIEW:
            task_approve(task=task, user=user)
    tasks = tasks_by_ref(options["ids"])
    catalog = catalog_get_or_create(name=options["catalog"], user=user)
    version = catalog_add_tasks(catalog=catalog, tasks=tasks, user=user)
    data = {"catalog": catalog.name, "version": version.number, "approved": [t.pk for t in tasks],
            "entries": version.entries.count()}
    return CliResult(data=data, text=f"approved {len(tasks)} task(s); {catalog.name} is at version {version.number} "
                                     f"with {data['entries']} task(s)")


def register(groups) -> None:
    group = groups.add_parser("tasks", help="List and approve tasks").add_subparsers(dest="verb", required=True)
    ls = group.add_parser("list", help="List tasks")
    ls.add_argument("--state", choices=[s.value for s in Task.State])
    ls.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="Print machine-readable JSON")
    ls.set_defaults(handler=_list)
    ap = group.add_parser("approve", help="Approve tasks (as an admin) into a catalog")
    ap.add_argument("ids", nargs="+", help="task ids or slugs")
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--as", dest="as_user", help="admin username (default: the first admin)")
    ap.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="Print machine-readable JSON")
    ap.set_defaults(handler=_approve)
