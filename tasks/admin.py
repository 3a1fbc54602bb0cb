"""Django admin for tasks, revisions, validation runs, catalogs, exports, solver runs and trials."""

from django.contrib import admin

from tasks.models import (
    Catalog,
    CatalogEntry,
    CatalogVersion,
    Export,
    SolverRun,
    Task,
    TaskActivity,
    TaskRevision,
    Trial,
    ValidationRun,
)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("slug", "state", "category", "difficulty", "measured_difficulty", "version", "created_at")
    list_filter = ("state", "category", "difficulty", "measured_difficulty")
    search_fields = ("slug",)


for model in (TaskRevision, ValidationRun, TaskActivity, Catalog, CatalogVersion, CatalogEntry, Export, SolverRun,
              Trial):
    admin.site.register(model)
