"""Browser fixtures: a live ASGI server (uvicorn in a thread of this process, so it shares the test
database and the thread-safe in-memory channel layer) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# Screenshots refresh docs/screenshots only when asked (STUDIO_SCREENSHOTS=1), so a test run leaves
# the checkout clean; otherwise they go to a temporary directory (still taken: a page that cannot
# render fails the test either way).
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get("STUDIO_SCREENSHOTS") == "1"
               else Path(tempfile.gettempdir()) / "studio-screenshots")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_uncommitted(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


def _serve(monkeypatch, lifespan: str):
    """The test DB is SQLite's shared-cache memory DB; its table locks do not wait, so a reader in
    one thread makes the worker's INSERT fail with "table is locked". Readers that skip read locks
    (read_uncommitted, which is what shared cache allows) keep the server and the worker apart."""
    import uvicorn
    from django.db import connection
    from django.db.backends.signals import connection_created

    connection_created.connect(_read_uncommitted)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        _read_uncommitted(None, connection)

    from studio.asgi import application

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan=lifespan,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=120)  # the lifespan shutdown stops the embedded worker after its running jobs
    from studio.embedded import stop_embedded_worker

    stop_embedded_worker()  # never leave a worker consuming the next tests' jobs (no-op when stopped)
    connection_created.disconnect(_read_uncommitted)


@pytest.fixture
def live_url(browser, transactional_db, monkeypatch):
    """The studio on a free port, without the embedded worker (the test writes events itself)."""
    yield from _serve(monkeypatch, "off")


@pytest.fixture
def live_url_worker(browser, transactional_db, monkeypatch):
    """The whole embedded studio: server plus its in-process worker running real jobs."""
    yield from _serve(monkeypatch, "on")


@pytest.fixture(scope="module")
def browser(django_db_setup):
    """Playwright's sync API keeps an event loop running in this thread, which makes Django refuse
    plain ORM calls; the test database exists before it starts and, while it runs, the flag below
    tells Django the synchronous calls are intended. Module scope: the loop must be gone before
    other modules' asyncio tests run."""
    import os

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the project's set-up installs Debian's chromium for browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def login(browser, live_url: str, username: str, password: str = "pw-for-tests"):
    """A fresh context logged in through the real login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    return context, page


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
