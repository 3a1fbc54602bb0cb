"""Issue 5's whole flow in Chromium against the embedded studio (server + in-process worker, real
Docker): a curator adds a local-path repository, watches its gold build log stream in, launches a
small batch of built-in-agent episodes, watches one live, opens the task it made and edits its
text; a reviewer approves; the curator adds it to a catalog, exports and downloads the zip.

A batch rather than one episode: the built-in agent's first fault family is seeded, and one
episode in a few can end without a task; the first episode that makes one carries the flow."""

from __future__ import annotations

import re
import textwrap
import time
import zipfile

import pytest

from inversion.models import Episode
from tests.browser.conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.docker]

BUILD_TIMEOUT_MS = 6 * 60 * 1000
EPISODE_TIMEOUT_MS = 4 * 60 * 1000
BATCH = 3
LIVE = "document.querySelector('[ws-connect]').dataset.live === 'live'"


@pytest.fixture
def tiny_project(tmp_path):
    """A project whose gold builds in seconds; its tests import a stdlib module and the package,
    which gives the built-in agent targets in every category it rotates through."""
    root = tmp_path / "tinycalc"
    (root / "tinycalc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "tinycalc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "tests" / "test_add.py").write_text(textwrap.dedent("""
        import json
        from tinycalc import add

        def test_add():
            assert add(2, 3) == 5

        def test_json():
            assert json.loads(json.dumps({"a": add(1, 1)})) == {"a": 2}
    """))
    (root / "pyproject.toml").write_text(textwrap.dedent("""
        [project]
        name = "tinycalc"
        version = "0.1"
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [tool.setuptools]
        packages = ["tinycalc"]
    """))
    return root


def _add_repository_and_build(page, url: str, project) -> None:
    page.goto(f"{url}/repositories/")
    page.select_option("#add-form select[name=kind]", "path")
    page.fill("#add-form input[name=location]", str(project))
    page.click("#add-form button[type=submit]")
    page.wait_for_url(f"{url}/repositories/*/")
    # the fetch runs as a job: the page reloads itself when it ends, and the build button is enabled
    page.locator("#gold-panel form button[type=submit]:enabled").click(timeout=120_000)
    page.wait_for_selector("#build-log .log-line", timeout=BUILD_TIMEOUT_MS)  # streamed over the websocket
    page.wait_for_selector("#gold-panel .badge.ready, #gold-panel .badge.failed", timeout=BUILD_TIMEOUT_MS)
    shot(page, "repository")
    assert page.locator("#gold-panel .badge.ready").count() == 1, page.locator("#gold-panel").inner_text()


def _episode_ids(page) -> list[int]:
    hrefs = page.eval_on_selector_all("#episode-table a[href*='/episodes/']", "els => els.map(e => e.getAttribute('href'))")
    return sorted({int(m.group(1)) for h in hrefs if (m := re.search(r"/episodes/(\d+)/", h))})


def _watch_first_live(page, url: str, episode_id: int) -> None:
    """Steps must arrive over the websocket after the page loaded, in order, without gaps."""
    page.goto(f"{url}/episodes/{episode_id}/")
    page.wait_for_function(LIVE)
    at_load = page.locator("#events .event").count()
    page.wait_for_function(f"document.querySelectorAll('#events .event-command').length > 0 && "
                           f"document.querySelectorAll('#events .event').length > {at_load}",
                           timeout=EPISODE_TIMEOUT_MS)
    page.wait_for_selector("#episode-status[data-active='0']", timeout=EPISODE_TIMEOUT_MS)
    seqs = page.eval_on_selector_all("#events .event", "els => els.map(e => +e.dataset.seq)")
    assert seqs == list(range(1, len(seqs) + 1))
    shot(page, "episode-finished")


def _open_first_task(page, url: str, episode_ids: list[int]) -> None:
    """Episodes in launch order; the first that made a task is the one the curator opens."""
    outcomes = []
    for pk in episode_ids:
        page.goto(f"{url}/episodes/{pk}/")
        page.wait_for_selector("#episode-status[data-active='0']", timeout=EPISODE_TIMEOUT_MS)
        if page.locator("#open-task").count():
            page.click("#open-task")
            page.wait_for_selector("#text-form")
            return
        outcomes.append(page.locator("#episode-status").inner_text())
    pytest.fail(f"no episode of the batch made a task: {outcomes}")


def _wait_batch_done(timeout: float = 240) -> None:
    """The rest of the batch must finish before the database is flushed under its worker threads."""
    deadline = time.monotonic() + timeout
    while Episode.objects.filter(status__in=Episode.ACTIVE).exists():
        assert time.monotonic() < deadline, "episodes still running"
        time.sleep(0.5)


def test_curator_to_reviewer_flow(live_url_worker, browser, tiny_project, tmp_path, alice, bob):
    url = live_url_worker
    alice_ctx, page = login(browser, url, "alice")

    _add_repository_and_build(page, url, tiny_project)
    page.click("#gold-panel a:has-text('Launch episodes')")
    page.wait_for_selector("#launch")
    shot(page, "episode-launch")
    assert page.locator("select[name=agent]").input_value() == "builtin"
    page.fill("input[name=count]", str(BATCH))
    page.click("#launch")
    page.wait_for_url(f"{url}/episodes/")
    episode_ids = _episode_ids(page)
    assert len(episode_ids) == BATCH

    _watch_first_live(page, url, episode_ids[0])
    _open_first_task(page, url, episode_ids)
    page.fill("#id_instruction", "The tests of tinycalc fail after an update.\n\n**Hint:** check what the tests import.")
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
    page.check("input[name=format][value=tb1]")
    page.click("#export")
    page.wait_for_selector("#exports .badge.done, #exports .badge.failed", timeout=120_000)
    assert page.locator("#exports .badge.done").count() == 1, page.locator("#exports").text_content()
    shot(page, "catalog")
    with page.expect_download() as info:
        page.locator("#exports a.button").first.click()
    target = tmp_path / "export.zip"
    info.value.save_as(target)
    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
        sums = zf.read("SHA256SUMS").decode()
    assert any(n.startswith("harbor/") for n in names), names
    assert any(n.startswith("tb1/") for n in names), names
    assert {line.split("  ", 1)[1] for line in sums.splitlines()} == set(names) - {"SHA256SUMS"}
    for path, name in (("/", "dashboard"), ("/episodes/", "episodes"), ("/tasks/", "tasks")):
        page.goto(f"{url}{path}")
        shot(page, name)
    alice_ctx.close()
    _wait_batch_done()
