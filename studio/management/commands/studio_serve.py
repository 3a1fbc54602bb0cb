"""Serve the studio (ASGI: pages and websockets) with uvicorn; embedded mode runs its worker inside."""

import uvicorn
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the studio on HOST:PORT (default 127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        self.stdout.write(f"Task Studio on http://{host}:{port}/")
        uvicorn.run("studio.asgi:application", host=host, port=port, lifespan="on", log_level="warning",
                    ws_ping_interval=20)
