from django.contrib import admin

from campaigns.models import Campaign, CampaignSource


class SourceInline(admin.TabularInline):
    model = CampaignSource
    extra = 0
    fields = ("line", "spec", "stage", "reason", "repository", "gold")
    readonly_fields = fields


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "episodes_per_gold", "target_tasks", "created_at")
    list_filter = ("status",)
    inlines = [SourceInline]
