"""Migration 0007: signatures stored before the engine's init counted as noise lose it, and their
keys become the keys the studio computes now, so an old task and a new one of the same break match."""

from __future__ import annotations

import hashlib
import importlib
import json

from django.apps import apps

from inversion.engine.episode.signature import signature_of
from tests.factories import EpisodeFactory, GoldFactory, TaskFactory

migration = importlib.import_module("tasks.migrations.0007_signature_without_docker_init")
LAYERS = [{"family": "pythonpath_stub", "category": "environment", "target": "six"}]
DELTA = [{"env": "PYTHONPATH", "value": "/opt/shared/python"}]


def _old_signature() -> dict:
    """What validation stored before: the init among the paths, and the key hashed over it (the
    pre-migration hash: layers' kinds and targets, env names, paths)."""
    sig = signature_of(layers=LAYERS, delta=DELTA, touched=["/opt/shared/python/six.py"])
    old = {**sig, "paths": sorted(sig["paths"] + ["/usr/sbin/docker-init"])}
    body = {"layers": sorted((la["kind"], la["target"]) for la in old["layers"]),
            "env": sorted(old["env"]), "paths": old["paths"]}
    return {**old, "key": hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]}


def test_old_signatures_lose_the_init_and_match_new_ones(db):
    new = signature_of(layers=LAYERS, delta=DELTA, touched=["/opt/shared/python/six.py", "/usr/sbin/docker-init"])
    old = _old_signature()
    assert old["key"] != new["key"]
    gold = GoldFactory()
    task = TaskFactory(gold=gold, signature=old, signature_key=old["key"])
    episode = EpisodeFactory(gold=gold, result={"signature": old, "layers": LAYERS})
    untouched = TaskFactory(gold=gold, signature=new, signature_key=new["key"])
    migration.forwards(apps, None)
    for row in (task, episode, untouched):
        row.refresh_from_db()
    assert task.signature_key == new["key"] == task.signature["key"]
    assert "/usr/sbin/docker-init" not in task.signature["paths"]
    assert episode.result["signature"]["key"] == new["key"] and episode.result["layers"] == LAYERS
    assert untouched.signature == new
