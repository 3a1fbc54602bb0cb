"""Catalogs: named, versioned sets of frozen task revisions, and the checks before export.

A version is immutable; adding a task, or re-adding one whose text was edited since, makes the
next version. A task keeps its export id in a catalog forever, so harness results stay comparable
across versions.
"""

from __future__ import annotations

from django.db import transaction

from studio.lib.exceptions import ApplicationError
from tasks.models import Catalog, CatalogEntry, CatalogVersion, Task
from tasks.selectors.diversity import version_twins
from tasks.selectors.tasks import tasks_by_ref
from tasks.services.review import task_approve, task_submit


def catalog_get_or_create(*, name: str, user=None, description: str = "") -> Catalog:
    catalog, _ = Catalog.objects.get_or_create(name=name, defaults={"created_by": user, "description": description})
    return catalog


def _export_id(catalog: Catalog, task: Task, taken: set[str]) -> str:
    """The id the task had in any earlier version, else its slug (suffixed if another task has it)."""
    earlier = CatalogEntry.objects.filter(version__catalog=catalog, task=task).values_list("export_id", flat=True).first()
    if earlier:
        return earlier
    candidate, n = task.slug, 2
    while candidate in taken or CatalogEntry.objects.filter(version__catalog=catalog, export_id=candidate).exclude(task=task).exists():
        candidate, n = f"{task.slug}-{n}", n + 1
    return candidate


@transaction.atomic
def catalog_add_tasks(*, catalog: Catalog, tasks: list[Task], user=None, note: str = "") -> CatalogVersion:
    """A new version = the latest one plus these tasks at their current revisions (approved only).

    Returns the latest version unchanged when every task is already in it at its current revision.
    """
    catalog = Catalog.objects.select_for_update().get(pk=catalog.pk)
    unapproved = sorted(t.slug for t in tasks if t.state != Task.State.APPROVED)
    if unapproved:
        raise ApplicationError(f"Only approved tasks go into a catalog; not approved: {', '.join(unapproved)}",
                               {"tasks": unapproved})
    no_text = sorted(t.slug for t in tasks if t.current_revision is None)
    if no_text:
        raise ApplicationError(f"These tasks have no issue text yet: {', '.join(no_text)}", {"tasks": no_text})
    latest = catalog.versions.order_by("-number").first()
    frozen = {e.task_id: e for e in latest.entries.all()} if latest else {}
    _refuse_duplicates(tasks, [e.task for e in frozen.values()])
    changes = [t for t in tasks if t.pk not in frozen or frozen[t.pk].revision.number != t.version]
    if latest and not changes:
        return latest
    version = CatalogVersion.objects.create(
        catalog=catalog, number=(latest.number + 1) if latest else 1, created_by=user,
        note=note or f"added or updated {', '.join(sorted(t.slug for t in changes))}"[:300],
    )
    taken: set[str] = set()
    changed_ids = {t.pk for t in changes}
    for entry in frozen.values():
        if entry.task_id not in changed_ids:
            CatalogEntry.objects.create(version=version, task_id=entry.task_id, revision=entry.revision,
                                        export_id=entry.export_id)
            taken.add(entry.export_id)
    for task in sorted(changes, key=lambda t: t.pk):
        export_id = frozen[task.pk].export_id if task.pk in frozen else _export_id(catalog, task, taken)
        CatalogEntry.objects.create(version=version, task=task, revision=task.current_revision, export_id=export_id)
        taken.add(export_id)
    return version


def _refuse_duplicates(tasks: list[Task], entries: list[Task]) -> None:
    """A catalog holds no two tasks of one repository with equal fault signatures."""
    pool = {t.pk: t for t in [*entries, *tasks]}
    seen: dict[tuple[int, str], Task] = {}
    clashes = []
    for task in sorted(pool.values(), key=lambda t: t.pk):
        if not task.signature_key:
            continue
        twin = seen.setdefault((task.gold.repository_id, task.signature_key), task)
        if twin.pk != task.pk:
            clashes.append(f"{task.slug} duplicates {twin.slug} ({task.signature.get('label', task.signature_key)})")
    if clashes:
        raise ApplicationError("A catalog takes no duplicate tasks: " + "; ".join(clashes), {"duplicates": clashes})


def catalog_add_warnings(*, version: CatalogVersion, tasks: list[Task]) -> list[dict]:
    """Near-duplicates the added tasks have in the version (shown to the person adding them)."""
    entries = [e.task for e in version.entries.select_related("task__gold__repository")]
    return [w for w in version_twins(tasks=tasks, entries=entries) if not w["duplicate"]]


def catalog_version_check(*, version: CatalogVersion) -> list[CatalogEntry]:
    """The entries, or a refusal naming every task that may not be exported and why."""
    entries = list(version.entries.select_related("task__gold__repository", "revision").order_by("export_id"))
    if not entries:
        raise ApplicationError(f"Catalog {version.catalog.name} v{version.number} is empty: nothing to export.")
    unapproved = [e.export_id for e in entries if e.task.state != Task.State.APPROVED]
    stale = [e.export_id for e in entries if e.task.gold_image_id != e.task.gold.image_id]
    problems = []
    if unapproved:
        problems.append(f"not approved: {', '.join(unapproved)}")
    if stale:
        problems.append(f"validation is stale (the gold was rebuilt since): {', '.join(stale)}")
    if problems:
        raise ApplicationError(f"Cannot export {version.catalog.name} v{version.number}; " + "; ".join(problems),
                               {"unapproved": unapproved, "stale": stale})
    return entries


def catalog_add_by_ids(*, name: str, task_ids: list[int], user=None) -> tuple[Catalog, list[dict]]:
    """The catalog page's "add to catalog": the named catalog (made if new) gets these tasks;
    returns it with the near-duplicate warnings ({task, twin, similarity})."""
    catalog = catalog_get_or_create(name=name, user=user)
    tasks = list(Task.objects.filter(pk__in=task_ids).select_related("gold__repository"))
    version = catalog_add_tasks(catalog=catalog, tasks=tasks, user=user)
    return catalog, catalog_add_warnings(version=version, tasks=tasks)


def catalog_approve_into(*, catalog_name: str, refs: list[str], user) -> tuple[CatalogVersion, list[Task], list[dict]]:
    """Headless review (`studio tasks approve`): submit drafts, approve them as `user` (an admin),
    then add them all to the catalog in one new version (with its near-duplicate warnings)."""
    for task in tasks_by_ref(refs):
        if task.state in (Task.State.DRAFT, Task.State.REJECTED):
            task = task_submit(task=task, user=user)
        if task.state == Task.State.IN_REVIEW:
            task_approve(task=task, user=user)
    catalog = catalog_get_or_create(name=catalog_name, user=user)
    tasks = tasks_by_ref(refs)
    version = catalog_add_tasks(catalog=catalog, tasks=tasks, user=user)
    return version, tasks, catalog_add_warnings(version=version, tasks=tasks)
