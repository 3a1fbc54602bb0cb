"""The base of the apps' models: every text and JSON value is made storable when saved."""

from __future__ import annotations

from django.db import models

from studio.lib.text import storable

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


class StorableModel(models.Model):
    """Rows hold untrusted text (container output, model replies, test messages): `save()` escapes
    what PostgreSQL cannot store (NUL, lone surrogates) instead of failing. `update()` and
    `bulk_create()` skip `save()`: callers pass `storable(...)` values there."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        for field in self._meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS):
                value = getattr(self, field.attname)
                if value is not None:
                    setattr(self, field.attname, storable(value))
        super().save(*args, **kwargs)
