from django.urls import path

from inversion import views

urlpatterns = [
    path("repositories/", views.repository_list, name="repository_list"),
    path("episodes/", views.episode_list, name="episode_list"),
]
