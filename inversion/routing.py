from django.urls import path

from inversion.consumers import EPISODE_EVENTS, GOLD_LOG
from studio.lib.streams import RowStreamConsumer

websocket_urlpatterns = [
    path(f"ws/{stream.name}/<int:pk>/", RowStreamConsumer.as_asgi(stream=stream))
    for stream in (EPISODE_EVENTS, GOLD_LOG)
]
