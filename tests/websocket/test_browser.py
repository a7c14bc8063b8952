"""The JavaScript client page in a real headless Chromium (Debian's, through Playwright):
it connects, searches and renders each result, shows broadcasts, keeps an idle
connection alive with its heartbeat, and reconnects by itself when the server restarts.
Everything it loads comes from the server (nothing outside loopback is reachable)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.processes import ServerProcess, running

from .support import DOCUMENTS, websocket_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: the client page is tested in Debian's chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    settings = {"heartbeat_seconds": 1, "idle_timeout_seconds": 4}
    with running(websocket_server(tmp_path, settings)) as started:
        items = [{"key": key, "text": text} for key, text in DOCUMENTS]
        seeded = httpx.post(
            f"{started.url}/api/v4/themis/vectors",
            json={"collection": "documents", "items": items},
            timeout=10,
        )
        assert seeded.status_code == 200, seeded.text
        yield started


async def open_page(browser: Browser, base: str, requested: list[str]) -> Page:
    page = await browser.new_page()
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{base}/websocket")
    await expect(page.locator("#status")).to_contain_text("connected as", timeout=10_000)
    assert errors == []
    return page


async def search(page: Page, query: str) -> None:
    await page.fill("#query", query)
    await page.click("#search")


async def test_the_page_connects_searches_and_renders_results(
    browser: Browser, server: ServerProcess
) -> None:
    requested: list[str] = []
    page = await open_page(browser, server.url, requested)

    await search(page, "solar power")
    await expect(page.locator("#summary")).to_have_text("5 results", timeout=10_000)
    rows = page.locator("#results li")
    await expect(rows).to_have_count(5)
    texts = await rows.all_inner_texts()
    assert any("solar" in text for text in texts[:2])
    assert {text.split()[1] for text in texts} == {key for key, _ in DOCUMENTS}

    ws_url = server.url.replace("http://", "ws://") + "/api/v4/ws/search?client_id=other"
    async with websockets.connect(ws_url) as other:
        await other.recv()
        await other.send(json.dumps({"action": "broadcast", "message": {"text": "hello page"}}))
        await expect(page.locator("#events li").first).to_contain_text(
            'broadcast from other: {"text":"hello page"}', timeout=10_000
        )

    assert requested, "the page loaded nothing"
    assert all(url.startswith((server.url, server.url.replace("http", "ws"))) for url in requested)


async def test_the_heartbeat_keeps_an_idle_page_connected(
    browser: Browser, server: ServerProcess
) -> None:
    page = await open_page(browser, server.url, [])
    status = page.locator("#status")
    # twice the server's 4 s idle timeout without a search: only the page's pings count
    await page.wait_for_timeout(8_000)
    await expect(status).to_have_attribute("data-opened", "1")
    await expect(status).to_contain_text("connected as")


async def test_the_page_reconnects_when_the_server_comes_back(
    browser: Browser, server: ServerProcess
) -> None:
    page = await open_page(browser, server.url, [])
    status = page.locator("#status")
    server.stop()
    await expect(status).to_contain_text("reconnecting", timeout=10_000)
    server.start()
    await expect(status).to_have_attribute("data-opened", "2", timeout=30_000)
    await expect(status).to_contain_text("connected as")
    await search(page, "wind")
    await expect(page.locator("#summary")).to_have_text("5 results", timeout=10_000)
