from django.urls import path

from inversion import episode_views, views

urlpatterns = [
    path("repositories/", views.repository_list, name="repository_list"),
    path("episodes/", episode_views.episode_list, name="episode_list"),
    path("episodes/<int:episode_id>/", episode_views.episode_detail, name="episode_detail"),
    path("episodes/<int:episode_id>/cancel/", episode_views.episode_cancel_view, name="episode_cancel"),
    path("golds/<int:gold_id>/launch/", episode_views.episode_launch, name="episode_launch"),
]
