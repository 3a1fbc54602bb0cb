"""Reads about how different tasks are: signatures already made on a gold, a task's near-duplicate
twins, and a catalog version's diversity report (`inversion.engine.episode.signature` defines the
measures). Near-duplicates are looked for within one repository: the same fault on another project
is another environment, and the report's family shares show when one kind dominates anyway."""

from __future__ import annotations

from collections import Counter
from typing import Any

from inversion.engine.episode import signature as sig
from studio.lib.exceptions import ApplicationError
from tasks.models import Catalog, CatalogEntry, Task


def gold_signature_keys(*, gold_id: int) -> dict[str, str]:
    """key -> slug of the tasks this gold already has (rejected ones do not count): each signature
    key, and each set of catalog families (`signature.families_key`)."""
    rows = (Task.objects.filter(gold_id=gold_id).exclude(signature_key="").exclude(state=Task.State.REJECTED)
            .order_by("pk").values_list("signature_key", "signature", "slug"))
    out: dict[str, str] = {}
    for key, signature, slug in rows:
        out.setdefault(key, slug)
        if families := sig.families_key(signature or {}):
            out.setdefault(families, slug)
    return out


def gold_near_twin(*, gold_id: int, signature: dict[str, Any], text: str) -> tuple[Task, float] | None:
    """The most similar task this gold has (rejected ones do not count) if it nearly duplicates a
    break with this signature and issue text (`signature.NEAR_DUP`), else None."""
    best: tuple[Task, float] | None = None
    for other in Task.objects.filter(gold_id=gold_id).exclude(signature={}).exclude(state=Task.State.REJECTED):
        score = sig.similarity(signature, other.signature, text, _text(other))
        if score >= sig.NEAR_DUP and (best is None or score > best[1]):
            best = (other, score)
    return best


def _text(task: Task) -> str:
    rev = task.current_revision
    return rev.instruction_hard if rev else ""


def task_twins(*, task: Task, states: tuple[str, ...] | None = None, among: list[Task] | None = None,
               ) -> list[dict[str, Any]]:
    """Other tasks of the same repository that duplicate (equal key) or nearly duplicate this one,
    most similar first: [{task, similarity, duplicate}]."""
    if not task.signature:
        return []
    if among is None:
        qs = Task.objects.filter(gold__repository_id=task.gold.repository_id).exclude(pk=task.pk).exclude(signature={})
        if states:
            qs = qs.filter(state__in=states)
        among = list(qs.select_related("gold__repository"))
    mine = _text(task)
    twins = []
    for other in among:
        if other.pk == task.pk or not other.signature or other.gold.repository_id != task.gold.repository_id:
            continue
        score = sig.similarity(task.signature, other.signature, mine, _text(other))
        if score >= sig.NEAR_DUP:
            twins.append({"task": other, "similarity": score, "duplicate": task.signature_key == other.signature_key})
    return sorted(twins, key=lambda t: (-t["similarity"], t["task"].pk))


def task_categories(task: Task) -> set[str]:
    """The categories of a task's layers (its own category where its signature names none)."""
    found = {str(la["category"]) for la in (task.signature or {}).get("layers") or [] if la.get("category")}
    return found or {task.category}


# A task failing this share of its graded tests or more fails "nearly the whole suite": the whole-suite
# goal counts only all of them, and unseen termcolor's 63-of-64 tasks read as partial there.
NEAR_WHOLE = 0.9


def _whole_suite(task: Task) -> bool:
    return bool(task.fail_to_pass) and not task.pass_to_pass


def _near_whole(task: Task) -> bool:
    failing = len(task.fail_to_pass or [])
    return bool(failing) and failing >= NEAR_WHOLE * (failing + len(task.pass_to_pass or []))


def diversity_of(tasks: list[Task]) -> dict[str, Any]:
    """Counts by category and family (each layer's), target, distinct signatures, exact
    duplicates, near-duplicate clusters (per repository) and repositories, for any set of tasks."""
    n = len(tasks)
    families = Counter(la["kind"] for t in tasks for la in (t.signature or {}).get("layers") or [])
    # a compound task is in each of its layers' categories (a repair of each is in its trajectory)
    categories = Counter(c for t in tasks for c in task_categories(t))
    targets = Counter(la["target"] for t in tasks for la in (t.signature or {}).get("layers") or [] if la.get("target"))
    keys = Counter(t.signature_key for t in tasks if t.signature_key)
    same = Counter((t.gold.repository.name, t.signature_key) for t in tasks if t.signature_key)
    items = [{"signature": t.signature or {}, "text": _text(t), "repo": t.gold.repository.name} for t in tasks]
    pairs = [(i, j, s) for i, j, s in sig.near_duplicates(items) if items[i]["repo"] == items[j]["repo"]]
    groups = sig.clusters(n, pairs)
    best = {}
    for i, j, s in pairs:
        best[i], best[j] = max(best.get(i, 0), s), max(best.get(j, 0), s)
    row = {t.pk: {"id": t.pk, "slug": t.slug, "repo": t.gold.repository.name, "label": (t.signature or {}).get("label", "")}
           for t in tasks}
    top_family = families.most_common(1)[0] if families else ("", 0)
    # tasks of one repository that fail exactly the same tests read alike to a solver, whatever broke
    # them (decorator: 19 tasks of 19 families-sets, every one failing the same 24 tests of one file)
    failing = Counter((t.gold.repository.name, frozenset(t.fail_to_pass or [])) for t in tasks)
    return {
        "tasks": n,
        "repositories": dict(sorted(Counter(t.gold.repository.name for t in tasks).items())),
        "categories": dict(categories.most_common()),
        "families": dict(families.most_common()),
        "targets": dict(targets.most_common(30)),
        "distinct_signatures": len(keys),
        "duplicates": [[row[t.pk] for t in tasks if (t.gold.repository.name, t.signature_key) == rk]
                       for rk, c in same.items() if c > 1],
        "near_duplicate_clusters": [[{**row[tasks[i].pk], "similarity": best.get(i, 0)} for i in g] for g in groups],
        "near_duplicate_rate": round(sum(len(g) for g in groups) / n, 3) if n else 0.0,
        "fault_counts": dict(sorted(Counter(t.fault_count for t in tasks).items())),
        "compound_share": round(sum(1 for t in tasks if t.fault_count > 1) / n, 3) if n else 0.0,
        # share: of the tasks it is in; of_faults: of every fault laid (layers sum to 1); floor: the
        # least `share` can be with these layers over these families (L layers over F families: some
        # family is laid ceil(L/F) times; two layers a task over ten families: 20 %)
        "largest_family": {"name": top_family[0], "share": round(top_family[1] / n, 3) if n else 0.0,
                           "of_faults": round(top_family[1] / sum(families.values()), 3) if families else 0.0,
                           "floor": round(-(-sum(families.values()) // len(families)) / n, 3) if n and families else 0.0},
        "whole_suite_share": round(sum(1 for t in tasks if _whole_suite(t)) / n, 3) if n else 0.0,
        "near_whole_share": round(sum(1 for t in tasks if _near_whole(t)) / n, 3) if n else 0.0,  # whole ones too
        "failing_sets": {"distinct": len(failing), "largest_share": round(max(failing.values()) / n, 3) if n else 0.0},
        "unsigned": sum(1 for t in tasks if not t.signature),
        "measure": f"similarity = {sig.STRUCTURE_WEIGHT} x Jaccard(kinds, env names, target-masked paths) + "
                   f"{1 - sig.STRUCTURE_WEIGHT:.1f} x Jaccard(instruction 4-word shingles); near-duplicate "
                   f"at >= {sig.NEAR_DUP}, within a repository",
    }


def version_twins(*, tasks: list[Task], entries: list[Task]) -> list[dict[str, Any]]:
    """For each of `tasks`, its duplicates and near-duplicates among `entries` (a catalog version):
    [{task, twin, similarity, duplicate}]."""
    out = []
    for task in tasks:
        for twin in task_twins(task=task, among=[e for e in entries if e.pk != task.pk]):
            out.append({"task": task, "twin": twin["task"], "similarity": twin["similarity"],
                        "duplicate": twin["duplicate"]})
    return out


def catalog_diversity(*, catalog: Catalog, number: int | None = None) -> dict[str, Any]:
    """The diversity report of one catalog version (default: the newest)."""
    versions = catalog.versions.order_by("-number")
    version = versions.filter(number=number).first() if number else versions.first()
    if version is None:
        raise ApplicationError(f"Catalog {catalog.name} has no {f'version {number}' if number else 'version yet'}.")
    entries = list(CatalogEntry.objects.filter(version=version).select_related("task__gold__repository")
                   .order_by("export_id"))
    report = diversity_of([e.task for e in entries])
    return {"catalog": catalog.name, "catalog_id": catalog.pk, "version": version.number, **report}
