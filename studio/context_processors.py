"""Template context shared by every page: the health banner and the user's roles."""

from studio.lib.dockerctx import docker_status
from studio.lib.roles import is_curator, is_reviewer


def health(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "docker_status": docker_status(),
        "user_is_curator": is_curator(request.user),
        "user_is_reviewer": is_reviewer(request.user),
    }
