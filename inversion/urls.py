from django.urls import path

from inversion import episode_views, repository_views

urlpatterns = [
    path("repositories/", repository_views.repository_list, name="repository_list"),
    path("repositories/<int:repo_id>/", repository_views.repository_detail, name="repository_detail"),
    path("repositories/<int:repo_id>/gold/", repository_views.gold_panel, name="gold_panel"),
    path("repositories/<int:repo_id>/build/", repository_views.gold_build_view, name="gold_build"),
    path("repositories/<int:repo_id>/delete/", repository_views.repository_delete_view, name="repository_delete"),
    path("repositories/<int:repo_id>/overrides/", repository_views.repository_overrides, name="repository_overrides"),
    path("episodes/", episode_views.episode_list, name="episode_list"),
    path("episodes/<int:episode_id>/", episode_views.episode_detail, name="episode_detail"),
    path("episodes/<int:episode_id>/cancel/", episode_views.episode_cancel_view, name="episode_cancel"),
    path("golds/<int:gold_id>/launch/", episode_views.episode_launch, name="episode_launch"),
]
