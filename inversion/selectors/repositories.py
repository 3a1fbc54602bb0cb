"""Reads of repositories."""

from __future__ import annotations

import re

from inversion.models import Repository
from studio.lib.exceptions import ApplicationError


def repository_list() -> list[Repository]:
    return list(Repository.objects.all())


def repository_names() -> list[str]:
    return list(Repository.objects.values_list("name", flat=True))


def repository_get(*, key: str | int) -> Repository:
    """A repository by id or name; ApplicationError when there is none."""
    key = str(key)
    found = Repository.objects.filter(pk=int(key)).first() if key.isdigit() else None
    found = found or Repository.objects.filter(name=key).first() or Repository.objects.filter(
        name=re.sub(r"[^a-z0-9_-]+", "-", key.lower()).strip("-")).first()  # as the add names it: Pillow -> pillow
    if found is None:
        raise ApplicationError(f"no repository {key!r}")
    return found


def repository_rows() -> list[dict]:
    """Plain rows for `studio repo list`: each repository with its newest gold's state."""
    rows = []
    for repo in Repository.objects.prefetch_related("golds").order_by("pk"):
        gold = repo.golds.first()
        rows.append({"id": repo.pk, "name": repo.name, "source": repo.spec, "status": repo.status,
                     "error": repo.error or None, "gold": gold.pk if gold else None,
                     "gold_status": gold.status if gold else None})
    return rows
