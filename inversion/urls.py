from django.urls import path

from inversion.views import episodes, golds, repositories

urlpatterns = [
    path("repositories/", repositories.repository_list_view, name="repository_list"),
    path("repositories/<int:repo_id>/", repositories.repository_detail, name="repository_detail"),
    path("repositories/<int:repo_id>/delete/", repositories.repository_delete_view, name="repository_delete"),
    path("repositories/<int:repo_id>/overrides/", repositories.repository_overrides, name="repository_overrides"),
    path("repositories/<int:repo_id>/gold/", golds.gold_panel_view, name="gold_panel"),
    path("repositories/<int:repo_id>/build/", golds.gold_build_view, name="gold_build"),
    path("golds/<int:gold_id>/launch/", episodes.episode_launch, name="episode_launch"),
    path("episodes/", episodes.episode_list, name="episode_list"),
    path("episodes/<int:episode_id>/", episodes.episode_detail_view, name="episode_detail"),
    path("episodes/<int:episode_id>/cancel/", episodes.episode_cancel_view, name="episode_cancel"),
]
