"""The first leg of issue 5's flow in Chromium: a curator adds a local-path repository, builds its
gold, watches the build log stream in, and reaches the launch form from the gold panel (the rest
of the flow, from a ready gold, is tests/browser/test_full_flow.py)."""

from __future__ import annotations

import textwrap

import pytest

from tests.browser.conftest import login, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.docker]

BUILD_TIMEOUT_MS = 6 * 60 * 1000


@pytest.fixture
def tiny_project(tmp_path):
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


def test_add_repository_watch_build_log_reach_launch(live_url_worker, browser, tiny_project):
    url = live_url_worker
    UserFactory(username="alice", roles=["curator"])
    context, page = login(browser, url, "alice")
    page.goto(f"{url}/repositories/")
    page.select_option("#add-form select[name=kind]", "path")
    page.fill("#add-form input[name=location]", str(tiny_project))
    page.click("#add-form button[type=submit]")
    page.wait_for_url(f"{url}/repositories/*/")
    build = page.locator("#gold-panel form button[type=submit]")
    if build.is_enabled():
        build.click()
    page.wait_for_selector("#build-log .log-line", timeout=BUILD_TIMEOUT_MS)  # streamed over the websocket
    page.wait_for_selector("#gold-panel .badge.ready, #gold-panel .badge.failed", timeout=BUILD_TIMEOUT_MS)
    shot(page, "repository")
    assert page.locator("#gold-panel .badge.ready").count() == 1, page.locator("#gold-panel").inner_text()
    page.click("#gold-panel a:has-text('Launch episodes')")
    page.wait_for_selector("#launch")
    assert page.locator("select[name=agent]").input_value() == "builtin"
    context.close()
