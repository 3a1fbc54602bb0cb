"""A dataset owner reads a catalog's diversity report and follows a near-duplicate cluster to the
task page, which shows the fault signature and the twin; a reviewer approving a near-duplicate is
warned with the twin linked. Screenshots: catalog-diversity.png, task-signature.png."""

from __future__ import annotations

import pytest

from inversion.engine.episode.signature import signature_of
from tasks.models import Task
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tests.browser.conftest import login, shot
from tests.factories import GoldFactory, RepositoryFactory, TaskFactory

TEXT = "Hi, since this morning I can't get the tests of `{repo}` to pass on this box any more."


def _task(gold, family, category, target, paths, env=(), fault_count=1, state=Task.State.APPROVED):
    layers = [{"family": f, "category": c, "target": t} for f, c, t in zip(family, category, target, strict=True)]
    sig = signature_of(layers=layers, delta=[{"env": e, "value": "/x"} for e in env], touched=paths)
    return TaskFactory(gold=gold, state=state, category=category[-1], fault_family="+".join(family), signature=sig,
                       signature_key=sig["key"], fault_count=fault_count, text=TEXT.format(repo=gold.repository.name),
                       slug=f"{gold.repository.name}-{category[-1].replace('_', '-')}-{sig['key'][:8]}")


@pytest.mark.browser
def test_diversity_report_and_the_signature_on_the_task_page(live_url, browser, root, bob):
    sqlitedict = GoldFactory(repository=RepositoryFactory(name="sqlitedict"))
    atomic = GoldFactory(repository=RepositoryFactory(name="atomicwrites"))
    stub_six = _task(sqlitedict, ["pythonpath_stub"], ["environment"], ["six"], ["/opt/shared/python/six.py"],
                     env=["PYTHONPATH"])
    tasks = [
        stub_six,
        _task(sqlitedict, ["so_elf_header_shadow"], ["shared_library"], ["libsqlite3.so.0"],
              ["/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6.part"]),
        _task(sqlitedict, ["package_misplaced", "site_module_stub"], ["python_dependency", "module_shadowing"],
              ["six", "six"], ["/opt/venv/lib/python3.9/site-packages/six.py", "/testbed/six.py"], fault_count=2),
        _task(atomic, ["ld_conf_stale_cache"], ["dynamic_linker"], ["libssl.so.3"],
              ["/etc/ld.so.conf.d/00-acme-runtime.conf", "/opt/acme-runtime/lib/libssl.so.3"]),
        _task(atomic, ["tmp_root_foreign_owner", "locale_codeset_mismatch"], ["ownership", "encoding"],
              ["/tmp/pytest-of-root", "en_US.UTF-8"], ["/tmp/pytest-of-root", "/usr/lib/locale/locale-archive"],
              env=["LC_CTYPE"], fault_count=2),
    ]
    catalog = catalog_get_or_create(name="repair-v1")
    catalog_add_tasks(catalog=catalog, tasks=tasks, user=root)
    twin = _task(sqlitedict, ["pythonpath_stub"], ["environment"], ["yaml"], ["/opt/shared/python/yaml.py"],
                 env=["PYTHONPATH"], state=Task.State.IN_REVIEW)

    ctx, page = login(browser, live_url, "bob")
    page.goto(f"{live_url}/catalogs/{catalog.pk}/")
    page.click("#diversity-link")
    assert page.inner_text("#stat-tasks") == "5" and page.inner_text("#stat-signatures") == "5"
    assert "encoding" in page.inner_text("#by-category") and "ld_conf_stale_cache" in page.inner_text("#by-family")
    assert "No duplicates and no near-duplicates" in page.inner_text("#near-duplicates")
    assert "40%" in page.inner_text("#diversity-summary")  # compound share: 2 of 5
    assert "90 % of it or more" in page.inner_text("#diversity-summary")
    shot(page, "catalog-diversity")

    page.goto(f"{live_url}/tasks/{twin.pk}/")
    page.click("#approve")
    warning = page.locator(".msg-warning")
    assert "near-duplicate" in warning.inner_text()
    warning.locator("a").click()
    page.wait_for_url(f"{live_url}/tasks/{stub_six.pk}/")
    assert page.inner_text("#signature-label") == "pythonpath_stub(six)"
    assert twin.slug in page.inner_text("#twins")

    page.goto(f"{live_url}/tasks/{tasks[2].pk}/")
    assert "2 faults" in page.inner_text("#signature") and "site_module_stub" in page.inner_text("#signature-layers")
    page.locator("#signature").scroll_into_view_if_needed()
    shot(page, "task-signature")
    ctx.close()
