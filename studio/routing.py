"""Websocket routes of all apps."""

from inversion.routing import websocket_urlpatterns as inversion_ws

websocket_urlpatterns = [*inversion_ws]
