from django.urls import path

from inversion import consumers

websocket_urlpatterns = [
    path("ws/episodes/<int:episode_id>/", consumers.EpisodeStreamConsumer.as_asgi()),
    path("ws/golds/<int:gold_id>/", consumers.GoldLogConsumer.as_asgi()),
]
