"""Debian's headless Chromium driven by Playwright for the dashboard tests, and their screenshots.

Playwright's own browser download cannot reach its servers from these machines, so the tests launch
the system's ``chromium`` with the flags that keep it from reaching for the network at start.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("COMPUTEMESH_TEST_ARTIFACTS", "test-artifacts"))


def chromium_path() -> str:
    """The system Chromium; skips without it, except under CI, where it is installed by make."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"this test must run under CI, but {reason}")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium with a fresh temporary profile (Playwright makes one), always closed."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


def save_screenshot(page: Page, name: str) -> Path:
    """Keeps a full-page screenshot as an artifact of the run (``test-artifacts/NAME.png``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
