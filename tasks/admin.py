"""Django admin for tasks, revisions, validation runs, catalogs and exports."""

from django.contrib import admin

from tasks.models import (
    Catalog,
    CatalogEntry,
    CatalogVersion,
    Export,
    Task,
    TaskActivity,
    TaskRevision,
    ValidationRun,
)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("slug", "state", "category", "difficulty", "version", "created_at")
    list_filter = ("state", "category", "difficulty")
    search_fields = ("slug",)


for model in (TaskRevision, ValidationRun, TaskActivity, Catalog, CatalogVersion, CatalogEntry, Export):
    admin.site.register(model)
