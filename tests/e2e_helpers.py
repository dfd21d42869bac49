"""What the browser tests share: the Chromium launch, a portal process, and screenshots."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import Settings
from tests.server import ROOT, PortalProcess

if TYPE_CHECKING:  # Playwright itself is only needed once the browser tests run.
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not os.environ.get("E2E_TESTS"):
        return "set E2E_TESTS=1 to run browser tests"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium to run browser tests"
    return None


def launch(playwright: "Playwright") -> "Browser":
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


@contextmanager
def running_portal(settings: Settings) -> Iterator[PortalProcess]:
    portal = PortalProcess(settings).start()
    try:
        yield portal
    finally:
        portal.stop()


def new_context(browser: "Browser", portal: PortalProcess, **options: object) -> "BrowserContext":
    """A fresh browser profile that speaks English to the portal."""
    context = browser.new_context(
        base_url=portal.url, locale="en-GB", extra_http_headers={"Accept-Language": "en"}, **options
    )  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    return context


def screenshot(page: "Page", name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
