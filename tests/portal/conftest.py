"""Each portal test module gets the five real services, the real gateway in front of them serving the portal,
and one headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.portal.pages import CHROMIUM, CHROMIUM_ARGS
from tests.support.gateway import running_gateway


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    # No clock-skew slack: the portal's expiry test waits for a token to expire, not for 30 s more.
    await stack.start("inventory", "orders", "channels", "dealers", "settlement", auth_leeway_seconds=0)
    return stack


@pytest.fixture(scope="module")
async def portal(services) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    async with running_gateway(services) as url:
        yield f"{url}/portal/"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()
