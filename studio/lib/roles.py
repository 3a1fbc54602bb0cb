"""Who may do what. Roles are the groups `curator` and `reviewer`; a superuser is admin."""

from __future__ import annotations

CURATOR = "curator"
REVIEWER = "reviewer"


def has_role(user, role: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=role).exists()


def is_curator(user) -> bool:
    return has_role(user, CURATOR)


def is_reviewer(user) -> bool:
    return has_role(user, REVIEWER)
