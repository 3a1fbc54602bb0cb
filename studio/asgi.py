"""ASGI entry point: HTTP through Django, websockets through Channels (login + origin checked).

On lifespan start-up the embedded mode also starts its in-process Celery worker, so
`uvicorn studio.asgi:application` is the whole studio in one process.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from studio.routing import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    await router(scope, receive, send)


async def _lifespan(receive, send) -> None:
    from asgiref.sync import sync_to_async

    from studio.embedded import start_embedded_worker, stop_embedded_worker

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                if settings.STUDIO_EMBEDDED_WORKER:
                    await sync_to_async(start_embedded_worker, thread_sensitive=False)()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if settings.STUDIO_EMBEDDED_WORKER:
                await sync_to_async(stop_embedded_worker, thread_sensitive=False)()
            await send({"type": "lifespan.shutdown.complete"})
            return

