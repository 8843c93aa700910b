"""The station page in Debian's headless Chromium, driven by Playwright.

Chromium is launched from ``/usr/bin/chromium`` (never ``playwright install``).
Without it the tests skip, except in CI (``CI=true``), where that is a failure.
Screenshots go to ``test-artifacts/screenshots`` (not committed).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from service.app import create_app
from service.auth import create_key
from service.config import Settings

from ..conftest import ROOT, SAMPLE

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("WUSHE_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("WUSHE_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.browser


@dataclass
class Site:
    url: str
    station: str
    other_station: str
    admin: str
    app: Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = tmp_path_factory.mktemp("web") / "wushe.sqlite3"
    app = create_app(Settings(database_url=f"sqlite:///{db}", seed_data=str(SAMPLE)))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the service did not start"
    with app.state.sessions() as s, s.begin():
        keys = (create_key(s, "station", "翠苑街道"), create_key(s, "station", "朝晖街道"),
                create_key(s, "admin"))
    yield Site(f"http://127.0.0.1:{port}", *keys, app)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        if IN_CI:
            pytest.fail(f"chromium is required in CI but {CHROMIUM} is missing")
        pytest.skip(f"chromium not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # the service sends a strict Content-Security-Policy: anything it blocks
    # (an inline style or script) is reported on the console and fails the test
    pg.on("console", lambda m: errors.append(m.text)
          if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: Site, key: str) -> None:
    page.goto(site.url + "/")
    page.fill("#key", key)
    page.press("#key", "Enter")  # keyboard: Enter submits the form
    page.wait_for_selector("#needs-table tbody tr")
