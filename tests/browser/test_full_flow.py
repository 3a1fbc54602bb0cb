"""Issue 5's whole flow in Chromium against the embedded studio (server + in-process worker):
a curator launches a built-in-agent episode on a ready gold, watches it live, opens the task and
edits its text; a reviewer approves; the curator adds it to a catalog and downloads the export.

The repository form and gold build log belong to the gold pages; until they exist this test
starts from a ready gold built from the fault-fixture project (tests/inversion/test_faults_fixture.py)."""

from __future__ import annotations

import textwrap
import zipfile

import pytest

from tests.browser.conftest import login, shot
from tests.factories import GoldFactory, UserFactory
from tests.inversion.test_faults_fixture import SURFACE, TESTBED, ensure_faults_image
from tests.support.fixture_gold import measure_baseline

pytestmark = [pytest.mark.browser, pytest.mark.docker]

EPISODE_TIMEOUT_MS = 4 * 60 * 1000


@pytest.fixture
def ready_gold(docker_client, base_image, tmp_path):
    """A ready gold with a real surface (the fault-fixture project), so the built-in agent finds targets;
    its sources are the repository snapshot the export ships as build context."""
    image = ensure_faults_image(docker_client, base_image)
    snapshot = tmp_path / "snapshot"
    for rel, body in TESTBED.items():
        (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / rel).write_text(textwrap.dedent(body))
    return GoldFactory(image=image, dockerfile=f"FROM {image}\n", surface=SURFACE, test_cmd="python -m pytest",
                       baseline=measure_baseline(docker_client, image), repository__name="calcproj",
                       repository__snapshot_path=str(snapshot))


def test_curate_watch_review_approve_catalog_export(live_url_worker, browser, ready_gold, tmp_path):
    url = live_url_worker
    UserFactory(username="alice", roles=["curator"])
    UserFactory(username="bob", roles=["reviewer"])
    alice_ctx, page = login(browser, url, "alice")

    page.goto(f"{url}/golds/{ready_gold.pk}/launch/")
    shot(page, "episode-launch")
    page.select_option("select[name=agent]", "builtin")
    page.fill("input[name=count]", "1")
    page.click("#launch")
    page.wait_for_url(f"{url}/episodes/*/")
    page.wait_for_function("document.querySelector('[ws-connect]').dataset.live === 'live'")
    page.wait_for_selector("#events .event-command", timeout=EPISODE_TIMEOUT_MS)  # a step arrives live
    page.wait_for_selector("#episode-status[data-active='0']", timeout=EPISODE_TIMEOUT_MS)
    seqs = page.eval_on_selector_all("#events .event", "els => els.map(e => +e.dataset.seq)")
    assert seqs == list(range(1, len(seqs) + 1))
    shot(page, "episode-finished")
    page.reload()
    status = page.locator("#episode-status").inner_text()
    assert page.locator("#open-task").count() == 1, f"the episode made no task: {status}"
    page.click("#open-task")
    page.wait_for_selector("#text-form")

    page.fill("#id_instruction", "The tests of calcproj fail after an update.\n\n**Hint:** check what the tests import.")
    page.wait_for_selector("#preview strong")
    page.click("#save-text")
    page.wait_for_selector("text=Saved a new revision.")
    page.click("#submit-review")
    page.wait_for_selector("#task-state:has-text('In review')")
    task_url = page.url
    shot(page, "task-review")

    bob_ctx, bob = login(browser, url, "bob")
    bob.goto(task_url)
    bob.keyboard.press("a")  # the approve shortcut
    bob.wait_for_selector("#task-state:has-text('Approved')")
    bob_ctx.close()

    page.goto(f"{url}/catalogs/")
    page.check("#approved-table input[name=task]")
    page.click("#add-to-catalog")
    page.wait_for_selector("text=a new version was made")
    page.click("#export")
    page.wait_for_selector("#exports .badge.done, #exports .badge.failed", timeout=120_000)
    assert page.locator("#exports .badge.done").count() == 1, page.locator("#exports").text_content()
    download_link = page.locator("#exports a.button").first
    shot(page, "catalog")
    with page.expect_download() as info:
        download_link.click()
    target = tmp_path / "export.zip"
    info.value.save_as(target)
    with zipfile.ZipFile(target) as zf:
        assert any("calcproj" in name for name in zf.namelist())
    for path, name in (("/", "dashboard"), ("/episodes/", "episodes"), ("/tasks/", "tasks")):
        page.goto(f"{url}{path}")
        shot(page, name)
    alice_ctx.close()
