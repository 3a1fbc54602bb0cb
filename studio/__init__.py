"""Task Studio: the Django project (settings, urls, asgi, celery app) and the shell of the web UI."""

from studio.celery import app as celery_app

__all__ = ["celery_app"]
