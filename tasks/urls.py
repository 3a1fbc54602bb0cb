from django.urls import path

from tasks import views

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<int:task_id>/", views.task_detail, name="task_detail"),
    path("tasks/<int:task_id>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/preview/", views.task_preview, name="task_preview"),
    path("tasks/<int:task_id>/regenerate/", views.task_regenerate, name="task_regenerate"),
    path("tasks/<int:task_id>/<slug:action>/", views.task_action, name="task_action"),
    path("catalogs/", views.catalog_list, name="catalog_list"),
    path("catalogs/add/", views.catalog_add, name="catalog_add"),
    path("catalogs/<int:catalog_id>/", views.catalog_detail, name="catalog_detail"),
    path("catalogs/versions/<int:version_id>/export/", views.catalog_export, name="catalog_export"),
    path("exports/<int:export_id>/download/", views.catalog_export_download, name="export_download"),
]
