"""The gold set-up loop as a curator sees it, in Chromium against the embedded studio (real Docker):
the repository page lists each attempt while the build runs (what changed, what failed, why), ends
with the Dockerfile diff against the first synthesis; a project whose sdist lacks a test helper is a
failed gold with its reason, counted per reason on the dashboard."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, shot
from tests.support.paths import FIXTURES

pytestmark = [pytest.mark.browser, pytest.mark.docker]

BUILD_TIMEOUT_MS = 10 * 60 * 1000


def _add(page, url: str, path) -> None:
    page.goto(f"{url}/repositories/")
    page.select_option("#add-form select[name=kind]", "path")
    page.fill("#add-form input[name=location]", str(path))
    page.click("#add-form button[type=submit]")
    page.wait_for_url(f"{url}/repositories/*/")
    # the fetch runs as a job: the page reloads itself when it ends, and the build button is enabled
    page.locator("#gold-panel form button[type=submit]:enabled").click(timeout=120_000)


def test_a_curator_watches_the_set_up_loop_fix_what_is_missing(live_url_worker, browser, alice):
    url = live_url_worker
    context, page = login(browser, url, "alice")
    _add(page, url, FIXTURES / "setup_undeclared")
    # the first attempt fails and shows up while the next one is still running
    page.wait_for_selector("#setup-attempts tr.attempt-failed, #gold-panel > p .badge.ready, "
                           "#gold-panel > p .badge.failed", timeout=BUILD_TIMEOUT_MS)
    assert page.locator("#setup-attempts tr.attempt-failed").count(), page.locator("#gold-panel").inner_text()
    page.wait_for_selector("#gold-panel > p .badge.ready, #gold-panel > p .badge.failed", timeout=BUILD_TIMEOUT_MS)
    assert page.locator("#gold-panel > p .badge.ready").count() == 1, page.locator("#gold-panel").inner_text()
    rows = page.locator("#setup-attempts tbody tr").all_inner_texts()
    assert len(rows) >= 2 and "first synthesis" in rows[0] and "pytest-timeout" in " ".join(rows)
    assert "unrecognized arguments" in rows[0]  # why the first attempt failed, in the project's words
    added = page.locator("#dockerfile-diff .add").all_inner_texts()
    assert any("pytest-timeout" in line and "freezegun" in line for line in added), added
    shot(page, "repository-setup-loop")

    _add(page, url, FIXTURES / "setup_incomplete")
    page.wait_for_selector("#gold-panel > p .badge.failed", timeout=BUILD_TIMEOUT_MS)
    assert "helper module 'common'" in page.locator("#gold-error").inner_text()
    page.goto(f"{url}/")
    table = page.locator("#failed-golds").inner_text()
    assert "too few tests pass" in table and "setup_incomplete" in table, table
    shot(page, "dashboard-failed-golds")
    context.close()
