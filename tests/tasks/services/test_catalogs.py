"""Catalog versions freeze revisions; export ids are stable; only approved tasks go in."""

import pytest

from studio.lib.exceptions import ApplicationError
from tasks.models import Task, TaskRevision
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create, catalog_version_check
from tests.support.catalog_kit import make_gold, make_task

pytestmark = pytest.mark.django_db


def test_versions_freeze_revisions_and_keep_export_ids(tmp_path, root):
    gold = make_gold(tmp_path)
    a, b = make_task(gold, "tiny-linking-aaaa"), make_task(gold, "tiny-linking-bbbb")
    catalog = catalog_get_or_create(name="main", user=root)
    v1 = catalog_add_tasks(catalog=catalog, tasks=[a], user=root)
    v2 = catalog_add_tasks(catalog=catalog, tasks=[b], user=root)
    assert (v1.number, v2.number) == (1, 2)
    assert [e.export_id for e in v1.entries.all()] == ["tiny-linking-aaaa"]
    assert [e.export_id for e in v2.entries.all()] == ["tiny-linking-aaaa", "tiny-linking-bbbb"]
    assert catalog_add_tasks(catalog=catalog, tasks=[a, b], user=root) == v2  # nothing changed

    TaskRevision.objects.create(task=a, number=2, instruction="Edited.", instruction_hard="Edited.")
    a.version = 2
    a.save()
    v3 = catalog_add_tasks(catalog=catalog, tasks=[a], user=root)
    entry = v3.entries.get(task=a)
    assert (v3.number, entry.revision.number, entry.export_id) == (3, 2, "tiny-linking-aaaa")
    assert v1.entries.get(task=a).revision.number == 1  # the old version still has the old text


def test_unapproved_tasks_are_refused_by_name(tmp_path, root):
    gold = make_gold(tmp_path)
    draft = make_task(gold, "tiny-linking-dddd", state=Task.State.DRAFT)
    catalog = catalog_get_or_create(name="main", user=root)
    with pytest.raises(ApplicationError, match="tiny-linking-dddd"):
        catalog_add_tasks(catalog=catalog, tasks=[draft], user=root)
    assert not catalog.versions.exists()


def test_export_check_names_stale_and_unapproved_tasks(tmp_path, root):
    gold = make_gold(tmp_path)
    ok, stale, later = (make_task(gold, f"tiny-linking-{x}") for x in ("ok00", "st00", "un00"))
    catalog = catalog_get_or_create(name="main", user=root)
    version = catalog_add_tasks(catalog=catalog, tasks=[ok, stale, later], user=root)
    assert len(catalog_version_check(version=version)) == 3
    Task.objects.filter(pk=stale.pk).update(gold_image_id="sha256:older")
    Task.objects.filter(pk=later.pk).update(state=Task.State.IN_REVIEW)
    with pytest.raises(ApplicationError) as err:
        catalog_version_check(version=version)
    assert "stale" in err.value.message and "tiny-linking-st00" in err.value.message
    assert "not approved: tiny-linking-un00" in err.value.message
    assert "tiny-linking-ok00" not in err.value.message


def test_empty_catalog_is_refused(root):
    catalog = catalog_get_or_create(name="empty", user=root)
    from tasks.selectors.catalogs import catalog_version_get

    with pytest.raises(ApplicationError, match="no any version|add approved tasks"):
        catalog_version_get(catalog=catalog)
