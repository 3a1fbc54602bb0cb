"""Django admin for the inversion models (for admins; the studio pages are the main UI)."""

from django.contrib import admin

from inversion.models import BuildEvent, Episode, EpisodeBatch, EpisodeEvent, GoldEnvironment, Repository


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "spec", "status", "created_at")
    search_fields = ("name", "spec")


@admin.register(GoldEnvironment)
class GoldAdmin(admin.ModelAdmin):
    list_display = ("id", "repository", "status", "image", "created_at")
    list_filter = ("status",)


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin):
    list_display = ("id", "gold", "agent", "status", "category", "steps", "created_at")
    list_filter = ("status", "agent")


admin.site.register(EpisodeBatch)
admin.site.register(EpisodeEvent)
admin.site.register(BuildEvent)
