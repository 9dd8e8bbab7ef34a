"""The dealer portal in headless Chromium (Debian's package; `make test` installs it when missing), driven by
Playwright: what every portal test opens it with."""

from __future__ import annotations

import os

from onepool_runtime.testing.services import metadata
from playwright.async_api import Browser, Page

CHROMIUM = os.environ.get("ONEPOOL_CHROMIUM", "/usr/bin/chromium")
# Everything that would reach the internet (component updates, sync, QUIC probes) is off: this machine has no
# way out, and a browser test must not depend on one.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_MS = 20_000  # bound per awaited page state (set-up latency, not a performance assertion)


def dealer_token(dealer_id: str, ttl: str = "3600") -> str:
    """What a dealer pastes into the login form."""
    return dict(metadata("dealer", dealer_id=dealer_id, ttl=ttl))["authorization"][7:]


async def log_in(browser: Browser, portal: str, token: str) -> Page:
    page = await browser.new_page(viewport={"width": 1200, "height": 1500}, accept_downloads=True)
    await page.goto(portal)
    await page.get_by_test_id("token").fill(token)
    await page.get_by_test_id("login").click()
    return page
