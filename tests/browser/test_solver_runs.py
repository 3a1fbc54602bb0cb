"""A reviewer starts a solver run from the catalog page and watches it on the run page, which polls
every 2 s (the worker's progress is written here, as the live-episode test writes events); a
trial's trajectory (untrusted model text) is shown escaped; the catalog filters by measured
difficulty. Screenshots: solver-run.png, catalog-solver-runs.png."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tasks.models import SolverRun, Trial
from tasks.services.catalogs import catalog_add_tasks, catalog_get_or_create
from tasks.services.difficulty import task_difficulty_update
from tests.browser.conftest import login, shot
from tests.support.catalog_kit import make_gold, make_task

HOSTILE = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'


@pytest.mark.browser
def test_start_watch_and_read_a_solver_run(live_url, browser, root, bob, tmp_path):
    gold = make_gold(tmp_path)
    a, b = make_task(gold, "tiny-linking-aaaa"), make_task(gold, "tiny-path-bbbb", category="path")
    catalog = catalog_get_or_create(name="repair-v1")
    catalog_add_tasks(catalog=catalog, tasks=[a, b], user=root)

    ctx, page = login(browser, live_url, "bob")
    page.goto(f"{live_url}/catalogs/{catalog.pk}/")
    page.fill("#solve-form input[name=agent]", "terminus-2")
    page.fill("#solve-form input[name=model]", "openai/qwen2.5-coder-1.5b")
    page.fill("#solve-form input[name=base_url]", "http://127.0.0.1:8181/v1")
    page.fill("#solve-form input[name=attempts]", "2")
    page.click("#start-solve")
    page.wait_for_url("**/solver-runs/*/")
    run = SolverRun.objects.get()
    assert (run.agent, run.model, run.attempts, run.strength, run.trials_total) == (
        "terminus-2",
        "openai/qwen2.5-coder-1.5b",
        2,
        "weak",
        4,
    )
    assert page.inner_text("#run-status") == "queued"

    # The worker's side: running, one trial in, then the rest (the page polls every 2 s).
    SolverRun.objects.filter(pk=run.pk).update(
        status="running",
        trials_done=1,
        trials_passed=1,
        elapsed=40.0,
        eta=120.0,
        current="tiny-path-bbbb",
        message="1/4 trials",
    )
    Trial.objects.create(
        run=run,
        task=a,
        export_id="tiny-linking-aaaa",
        name="t1",
        attempt=1,
        reward=1.0,
        passed=True,
        seconds=38.2,
        steps=3,
        input_tokens=4100,
        output_tokens=220,
        trajectory=f'{{"steps": [{{"source": "agent", "message": "{HOSTILE}"}}]}}',
        trajectory_kind="atif",
        verifier_output="tampered: none\n" + HOSTILE,
    )
    page.wait_for_function("document.querySelector('#run-counts').innerText.startsWith('1/4')", timeout=10000)
    assert "tiny-path-bbbb" in page.inner_text("#run-current") and page.inner_text("#run-eta") == "120"
    for name, task, attempt in (("t2", a, 2), ("t3", b, 1), ("t4", b, 2)):
        Trial.objects.create(
            run=run,
            task=task,
            export_id=task.slug,
            name=name,
            attempt=attempt,
            reward=0.0,
            seconds=50.0,
            steps=9,
        )
    SolverRun.objects.filter(pk=run.pk).update(
        status="done",
        trials_done=4,
        trials_passed=1,
        eta=None,
        current="",
        message="1/4 trials passed",
        finished_at=timezone.now(),
    )
    page.wait_for_function("document.querySelector('#run-status').innerText === 'done'", timeout=10000)
    assert page.inner_text("#run-pass-rate") == "0.25"
    row = page.inner_text("tr[data-task=tiny-linking-aaaa]")
    assert "1/2" in row and "0.50" in row and "1.00" in row  # passed, pass@1, pass@2
    assert page.locator("#cancel-run").count() == 0
    shot(page, "solver-run")

    page.click("tr[data-task=tiny-linking-aaaa] a.badge.done")
    assert HOSTILE in page.inner_text("#trajectory") and HOSTILE in page.inner_text("#verifier-output")
    assert page.title() != "pwned" and page.locator("#trajectory img").count() == 0

    task_difficulty_update(task_ids=[a.pk, b.pk])
    page.goto(f"{live_url}/catalogs/{catalog.pk}/?measured=easy")
    assert "tiny-linking-aaaa" in page.inner_text(
        "#catalog-tasks"
    ) and "tiny-path-bbbb" not in page.inner_text("#catalog-tasks")
    page.goto(f"{live_url}/catalogs/{catalog.pk}/?measured=unsolved")
    assert "tiny-path-bbbb" in page.inner_text("#catalog-tasks")
    assert "terminus-2:openai/qwen2.5-coder-1.5b" in page.inner_text("#solver-run-list")
    shot(page, "catalog-solver-runs")
    ctx.close()


@pytest.mark.browser
def test_people_without_a_role_cannot_start_runs(live_url, browser, root, charlie, tmp_path):
    gold = make_gold(tmp_path)
    catalog = catalog_get_or_create(name="main")
    catalog_add_tasks(catalog=catalog, tasks=[make_task(gold, "tiny-linking-cccc")], user=root)
    ctx, page = login(browser, live_url, "charlie")
    page.goto(f"{live_url}/catalogs/{catalog.pk}/")
    assert page.locator("#solve-form").count() == 0 and page.locator("#solver-runs").count() == 1
    ctx.close()
