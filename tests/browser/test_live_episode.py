"""In a real browser: log in, dashboard, a live episode page fed through the event service, and two
viewers who each see every step exactly once (also across a reload)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from inversion.services.events import episode_event_add
from tests.browser.conftest import login, shot
from tests.factories import EpisodeFactory, GoldFactory

pytestmark = pytest.mark.browser

XSS = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


def _add(**kwargs) -> None:
    """Write through the event service from another thread, as the episode worker does (this
    thread runs Playwright's event loop, where the broadcast's async_to_sync cannot run)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(episode_event_add, **kwargs).result()


def _command(episode, n: int, extra: str = "") -> None:
    _add(episode_id=episode.pk, kind="command", payload={
        "command": f"echo step-{n}", "output": f"\x1b[32mstep-{n} ok\x1b[0m {extra}", "exit_code": 0, "seconds": 0.1})


def _seqs(page) -> list[int]:
    return page.eval_on_selector_all("#events .event", "els => els.map(e => +e.dataset.seq)")


def test_live_episode_page_streams_steps_safely(live_url, browser, alice):
    episode = EpisodeFactory(gold=GoldFactory(repository__name="attrs"), status="running")
    _command(episode, 1)
    context, page = login(browser, live_url, "alice")
    page.wait_for_selector("text=Dashboard")
    shot(page, "dashboard")
    page.goto(f"{live_url}/episodes/{episode.pk}/")
    page.wait_for_function("document.querySelector('[ws-connect]').dataset.live === 'live'")
    assert _seqs(page) == [1]
    _command(episode, 2, extra=XSS)
    _add(episode_id=episode.pk, kind="tests", payload={
        "selected": 4, "counts": {"passed": 3, "failed": 1}, "newly_failing": [f"tests/t.py::{XSS}"], "recovered": []})
    page.wait_for_selector("#ev-3")
    assert _seqs(page) == [1, 2, 3]
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#ev-2 .terminal .ansi-fg-green").inner_text() == "step-2 ok"
    assert "<script>" in page.locator("#ev-2 .terminal").inner_text()  # shown as text, not run
    shot(page, "episode-live")
    page.reload()
    page.wait_for_function("document.querySelector('[ws-connect]').dataset.live === 'live'")
    _command(episode, 4)
    page.wait_for_selector("#ev-4")
    assert _seqs(page) == [1, 2, 3, 4]
    context.close()


def test_two_viewers_each_see_every_step_once(live_url, browser, alice, bob):
    episode = EpisodeFactory(status="running")
    viewers = [login(browser, live_url, name) for name in ("alice", "bob")]
    for _, page in viewers:
        page.goto(f"{live_url}/episodes/{episode.pk}/")
        page.wait_for_function("document.querySelector('[ws-connect]').dataset.live === 'live'")
    for n in range(1, 21):
        _command(episode, n)
    for _, page in viewers:
        page.wait_for_selector("#ev-20")
        page.wait_for_timeout(300)  # anything late or duplicated would arrive now
        assert _seqs(page) == list(range(1, 21))
    # a reconnect asks only for what is missing: the socket factory rewrites ?after= to the page's seq
    bob_page = viewers[1][1]
    url = bob_page.evaluate(
        "(() => { const s = htmx.createWebSocket(location.origin.replace('http', 'ws')"
        f" + '/ws/episodes/{episode.pk}/?after=0'); const u = s.url; s.close(); return u; }})()")
    assert url.endswith(f"/ws/episodes/{episode.pk}/?after=20")
    # a dropped socket plus a reload: the snapshot and the stream meet without gaps or duplicates
    bob_page.evaluate("htmx.find('[ws-connect]')['htmx-internal-data'].webSocket.socket.close(4000)")
    for n in range(21, 24):
        _command(episode, n)
    bob_page.reload()
    bob_page.wait_for_selector("#ev-23")
    assert _seqs(bob_page) == list(range(1, 24))
    assert _seqs(viewers[0][1]) == list(range(1, 24))
    for context, _ in viewers:
        context.close()
