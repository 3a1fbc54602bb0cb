from django.urls import path

from tasks.views import catalogs, exports, solver_runs, tasks

urlpatterns = [
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/<int:task_id>/", tasks.task_detail, name="task_detail"),
    path("tasks/<int:task_id>/edit/", tasks.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/preview/", tasks.task_preview, name="task_preview"),
    path("tasks/<int:task_id>/regenerate/", tasks.task_regenerate, name="task_regenerate"),
    path("tasks/<int:task_id>/<slug:action>/", tasks.task_action, name="task_action"),
    path("catalogs/", catalogs.catalog_list, name="catalog_list"),
    path("catalogs/add/", catalogs.catalog_add, name="catalog_add"),
    path("catalogs/<int:catalog_id>/", catalogs.catalog_detail_view, name="catalog_detail"),
    path("catalogs/<int:catalog_id>/diversity/", catalogs.catalog_diversity_view, name="catalog_diversity"),
    path("catalogs/versions/<int:version_id>/export/", exports.catalog_export, name="catalog_export"),
    path("exports/<int:export_id>/download/", exports.export_download, name="export_download"),
    path("catalogs/versions/<int:version_id>/solve/", solver_runs.solver_run_launch, name="solver_run_launch"),
    path("catalogs/<int:catalog_id>/trajectories/", solver_runs.trajectories_download, name="trajectories_download"),
    path("solver-runs/<int:run_id>/", solver_runs.solver_run_detail, name="solver_run_detail"),
    path("solver-runs/<int:run_id>/cancel/", solver_runs.solver_run_cancel_view, name="solver_run_cancel"),
    path("trials/<int:trial_id>/", solver_runs.trial_trajectory, name="trial_trajectory"),
]
