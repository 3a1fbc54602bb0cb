"""The studio shell keeps one table: pings that prove a job went through broker and worker."""

from django.db import models


class JobPing(models.Model):
    marker = models.CharField(max_length=100)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
