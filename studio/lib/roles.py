"""Who may do what. Roles are the groups `curator` and `reviewer`; a superuser is admin."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

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


def require_curator(user, action: str) -> None:
    """Raise PermissionDenied ("Only curators may <action>.") unless the user curates."""
    if not is_curator(user):
        raise PermissionDenied(f"Only curators may {action}.")


def require_reviewer(user, action: str) -> None:
    if not is_reviewer(user):
        raise PermissionDenied(f"Only reviewers may {action}.")


def admin_user(username: str | None = None):
    """The active admin named `username` (default: the first one), for headless commands that act
    as a person; ApplicationError when there is none."""
    from django.contrib.auth import get_user_model

    from studio.lib.exceptions import ApplicationError

    users = get_user_model().objects.filter(is_superuser=True, is_active=True)
    user = users.filter(username=username).first() if username else users.order_by("pk").first()
    if user is None:
        raise ApplicationError(f"no active admin user {username or ''}".strip() + " (create one: manage.py studio_admin)")
    return user
