from django.urls import path

from tasks import views

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("catalogs/", views.catalog_list, name="catalog_list"),
]
