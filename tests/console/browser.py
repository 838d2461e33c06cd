"""Playwright helpers: Debian's Chromium, signed-in pages, waits that fail with the services' logs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, Console
from tests.console.world import PASSWORD

TIMEOUT_MS = 30_000
# Generous: two shared cores run several engineers' test suites at once.
expect.set_options(timeout=TIMEOUT_MS)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, locale: str = "en-US", width: int = 1440, height: int = 900) -> tuple[BrowserContext, Page]:
    ctx = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx, ctx.new_page()


def sign_in(page: Page, console: Console, user: str, next_path: str = "/") -> None:
    page.goto(f"{console.base}/login?next={next_path}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(lambda url: "/login" not in url)
