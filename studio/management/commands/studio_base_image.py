"""Provide the base image: STUDIO_BASE_IMAGE if present or pullable, else build it from Debian packages."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inversion.engine.gold.baseimage import BaseImageError, ensure_base_image
from studio.lib.dockerctx import docker_client, docker_status


class Command(BaseCommand):
    help = "Ensure the base image exists (a second call is a no-op)."

    def add_arguments(self, parser):
        parser.add_argument("--no-pull", action="store_true", help="Do not try a registry first")

    def handle(self, *args, no_pull: bool = False, **options):
        status = docker_status(fresh=True)
        if not status.ok:
            raise CommandError(f"Docker is unreachable at {status.endpoint}: {status.detail}")
        try:
            ensure_base_image(
                docker_client(timeout=600),
                settings.STUDIO_BASE_IMAGE,
                extra_ca_bundle=settings.STUDIO_EXTRA_CA_BUNDLE or None,
                allow_pull=not no_pull,
                progress=lambda line: self.stdout.write(f"[base-image] {line}"),
            )
        except BaseImageError as exc:
            raise CommandError(str(exc)) from exc
