"""The whole platform: runplatform, real workers and rings, the gateway, a WebSocket client,
a browser on the dashboard, and a clean stop on SIGTERM (no child left, no ring left)."""

from __future__ import annotations

import asyncio
import glob
import json
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import websockets
from platform_harness import PASSWORD, USERNAME, Platform, stop_platform

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_websocket_client_with_a_token_gets_snapshots_and_deltas(platform: Platform) -> None:
    async def scenario() -> dict[str, list[dict[str, Any]]]:
        seen: dict[str, list[dict[str, Any]]] = {"snapshot": [], "delta": []}
        async with websockets.connect(f"{platform.ws_url}?token={platform.token}") as ws:
            await ws.send(json.dumps({"op": "subscribe", "id": 1, "topics": ["md.*.*.book"]}))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (seen["snapshot"] and seen["delta"]):
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                if frame["op"] in seen:
                    seen[frame["op"]].append(frame)
        return seen

    seen = asyncio.run(scenario())
    assert seen["snapshot"] and seen["delta"], platform.log_tail()
    frame = seen["delta"][0]
    assert frame["topic"].startswith("md.sim.") and frame["topic"].endswith(".book")
    assert frame["data"]["kind"] == "book_snapshot" and frame["data"]["bids"]
    assert isinstance(frame["merged"], int) and frame["seq"] > 0


def test_rest_book_and_readiness(platform: Platform) -> None:
    request = urllib.request.Request(
        f"{platform.url}/api/books/sim/BTC-USD/",
        headers={"Authorization": f"Token {platform.token}"},
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                book = json.loads(response.read())
                break
        except urllib.error.HTTPError as exc:
            if exc.code != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    # Up to 10 levels a side, best first (a simulated side may briefly hold fewer).
    assert book["symbol"] == "BTC-USD"
    assert 1 <= len(book["bids"]) <= 10 and 1 <= len(book["asks"]) <= 10
    bids = [Decimal(price) for price, _ in book["bids"]]
    asks = [Decimal(price) for price, _ in book["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    # Ready once every worker is up and Celery's first heartbeat (beat: every 10 s) is in.
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{platform.url}/readyz", timeout=5) as response:
                ready = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            ready = json.loads(exc.read())
        if ready["ready"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert ready["ready"] is True, ready
    assert ready["checks"]["workers"] == "ok (2 up)"


def test_browser_sees_the_ladder_change(platform: Platform, chromium_executable: str) -> None:
    from playwright.sync_api import sync_playwright

    results = REPO / "test-results"
    results.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{platform.url}/dashboard/")
            assert "/accounts/login/" in page.url
            page.fill("input[name=username]", USERNAME)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{platform.url}/dashboard/")
            ladder = page.locator('table.ladder[data-symbol="BTC-USD"]')
            ladder.locator("tr.level td.bid").first.wait_for(timeout=15_000)
            page.wait_for_function(
                "() => { const c = document.querySelector('table.ladder[data-symbol=\"BTC-USD\"] td.bid');"
                " return c && c.textContent.length > 0; }",
                timeout=15_000,
            )
            before = ladder.inner_text()
            page.wait_for_function(
                "(before) => document.querySelector('table.ladder[data-symbol=\"BTC-USD\"]').innerText !== before",
                arg=before,
                timeout=5_000,
            )
            assert ladder.locator("tr.level").count() == 10
            assert page.locator("canvas.chart").count() >= 1
            assert page.locator("#banner").is_hidden()
            page.wait_for_timeout(500)
            page.screenshot(path=str(results / "dashboard.png"), full_page=True)
        finally:
            browser.close()


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        for task in glob.glob(f"/proc/{current}/task/*/children"):
            try:
                children = {int(c) for c in Path(task).read_text().split()}
            except OSError:
                continue
            stack += list(children - found)
            found |= children
    return found


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_sigterm_stops_everything_and_removes_the_rings(platform: Platform) -> None:
    """Last in this module: it stops the module's platform."""
    rings = f"/dev/shm/tickerplant-{platform.port}-*"
    assert glob.glob(rings), "the workers should have created their rings"
    children = _descendants(platform.process.pid)
    assert len(children) >= 5  # daphne, 2 workers, celery worker and beat
    assert stop_platform(platform) == 0
    deadline = time.monotonic() + 5
    while any(map(_running, children)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _running(pid)]
    assert glob.glob(rings) == []
    assert "Tickerplant stopped" in platform.log_tail()
