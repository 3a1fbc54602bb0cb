"""Reads of catalogs: the list page (catalogs + approved tasks to add), one catalog at a version."""

from __future__ import annotations

from studio.lib.exceptions import ApplicationError
from tasks.engine.difficulty import LEVELS
from tasks.models import Catalog, CatalogEntry, CatalogVersion, Task
from tasks.selectors.solver_runs import solver_runs_of_version
from tasks.selectors.tasks import task_facets, task_filtered


def catalog_list_page(*, filters: dict[str, str]) -> dict:
    """Catalogs, and the approved tasks (filtered) a curator may add to one."""
    approved = list(task_filtered(state=Task.State.APPROVED, **filters))[:500]
    return {"catalogs": list(Catalog.objects.all()), "approved": approved, "filters": filters,
            "facets": task_facets()}


def catalog_get(*, name: str) -> Catalog:
    catalog = Catalog.objects.filter(name=name).first()
    if catalog is None:
        raise ApplicationError(f"no catalog named {name}")
    return catalog


def catalog_get_by_id(*, catalog_id: int) -> Catalog:
    catalog = Catalog.objects.filter(pk=catalog_id).first()
    if catalog is None:
        raise ApplicationError(f"no catalog #{catalog_id}")
    return catalog


def catalog_detail(*, catalog_id: int, version: str | int | None = None, measured: str = "") -> dict:
    """One catalog at `version` (its number; default the newest); ApplicationError when either is unknown.
    `measured` filters the entries by measured difficulty (easy|medium|hard|unsolved, or "none")."""
    catalog = Catalog.objects.filter(pk=catalog_id).first()
    if catalog is None:
        raise ApplicationError(f"no catalog #{catalog_id}")
    try:
        wanted = int(version) if version not in (None, "") else None
    except ValueError as exc:
        raise ApplicationError(f"no version {version!r} of {catalog.name}") from exc
    versions = list(catalog.versions.all())
    current = next((v for v in versions if v.number == wanted), versions[0] if versions else None)
    entries = (list(CatalogEntry.objects.filter(version=current).select_related("task__gold__repository", "revision"))
               if current else [])
    if measured:
        entries = [e for e in entries if e.task.measured_difficulty == ("" if measured == "none" else measured)]
    exports = list(current.exports.all()[:10]) if current else []
    return {"catalog": catalog, "versions": versions, "current": current, "entries": entries, "exports": exports,
            "solver_runs": solver_runs_of_version(version=current), "measured": measured,
            "measured_levels": [*LEVELS, "none"]}


def catalog_version_get(*, catalog: Catalog, number: int | None = None) -> CatalogVersion:
    """A version by number (default: the newest); ApplicationError naming what is missing."""
    versions = catalog.versions.order_by("-number")
    version = versions.filter(number=number).first() if number else versions.first()
    if version is None:
        what = f"version {number}" if number else "any version"
        raise ApplicationError(f"Catalog {catalog.name} has no {what}: add approved tasks first.")
    return version


def catalog_version_by_id(*, version_id: int) -> CatalogVersion:
    version = CatalogVersion.objects.select_related("catalog").filter(pk=version_id).first()
    if version is None:
        raise ApplicationError(f"no catalog version #{version_id}")
    return version
