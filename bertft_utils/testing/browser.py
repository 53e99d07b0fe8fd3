"""Headless Chromium (Debian's chromium and chromium-driver) driven by selenium, for the report.html tests and the
report bench: the flags keep it off the network, which this machine does not have."""

from __future__ import annotations

import time
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--window-size=1280,1600")


def headless_chromium(width: int = 1280, height: int = 1600):
    """A selenium driver of headless Chromium that records the page's console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag if not flag.startswith("--window-size") else f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def load(driver, path: str | Path) -> list[str]:
    """Open a local page; the console's errors and warnings (none expected)."""
    driver.get(Path(path).resolve().as_uri())
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def timed_load(driver, path: str | Path) -> dict:
    """Open a local page and time it: the whole load as selenium waits for it, and the page's own rendering of its
    items (window.bertftRenderMs)."""
    started = time.perf_counter()
    errors = load(driver, path)
    driver.execute_script("return document.body.offsetHeight")  # laid out
    return {"load_s": time.perf_counter() - started, "render_s": driver.execute_script("return window.bertftRenderMs")
            / 1000, "console_errors": errors}
