"""Stored signatures listed the engine's init (`/usr/sbin/docker-init`) among a break's paths: drop
it and recompute the key (the hash frozen here as it was written), so duplicates match again."""

import hashlib
import json

from django.db import migrations

INIT = ("/usr/sbin/docker-init", "/sbin/docker-init")


def _clean(sig: dict) -> dict | None:
    paths = sig.get("paths") or []
    if not any(p in INIT for p in paths):
        return None
    sig = {**sig, "paths": [p for p in paths if p not in INIT]}
    body = {"layers": sorted((la["kind"], la["target"]) for la in sig.get("layers") or []),
            "env": sorted(sig.get("env") or []), "paths": sorted(sig["paths"])}
    sig["key"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return sig


def forwards(apps, schema_editor):
    Task = apps.get_model("tasks", "Task")
    for task in Task.objects.exclude(signature={}).only("pk", "signature"):
        sig = _clean(task.signature or {})
        if sig:
            Task.objects.filter(pk=task.pk).update(signature=sig, signature_key=sig["key"])
    Episode = apps.get_model("inversion", "Episode")
    for episode in Episode.objects.only("pk", "result").iterator():
        sig = _clean((episode.result or {}).get("signature") or {})
        if sig:
            Episode.objects.filter(pk=episode.pk).update(result={**episode.result, "signature": sig})


class Migration(migrations.Migration):
    dependencies = [("tasks", "0006_solver_runs"), ("inversion", "0009_engines")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
