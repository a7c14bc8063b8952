"""In a real browser (Debian's headless chromium, driven by Playwright): GraphiQL loads from
a running server's /graphql with no CDN in reach, runs a typed query, and shows the result."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.processes import ServerProcess, running, themisgate

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUERY = '{ document(id: "notes:browser") }'


def chromium_path() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        pytest.fail("chromium is not installed; install Debian's `chromium` package (CI does)")
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    settings = f'[core.themis]\npath = "{tmp_path / "themis.db"}"\n[plugins.graphql]\n'
    with running(themisgate(tmp_path, settings)) as process:
        yield process


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def type_query(page: Page, text: str) -> None:
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_graphiql_runs_a_query_and_shows_the_result(
    server: ServerProcess, browser: Browser
) -> None:
    stored = httpx.post(
        f"{server.url}/graphql",
        json={
            "query": 'mutation { insertDocument(collection: "notes", document: '
            '{_key: "browser", title: "seen in a browser"}) }'
        },
    )
    assert stored.json() == {"data": {"insertDocument": "notes:browser"}}
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    elsewhere: list[str] = []  # anything not from this server (a CDN, say)
    page.on(
        "request",
        lambda r: None if r.url.startswith((server.url, "data:")) else elsewhere.append(r.url),
    )

    page.goto(f"{server.url}/graphql")
    page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=30_000)
    type_query(page, QUERY)
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".result-window")).to_contain_text(
        '"title": "seen in a browser"', timeout=30_000
    )
    assert elsewhere == []
    assert problems == []
