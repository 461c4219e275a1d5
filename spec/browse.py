"""Open the built site in a real browser, as a reader would: headless Chromium through Selenium.

    python -m spec.browse [SITE] [--screenshots docs/screenshots]

Serves SITE (default ``site/``, what ``tox -e docs`` builds) on localhost, opens every page,
and fails if a page logs a console error or shows an image that did not load
(``naturalWidth == 0``). With ``--screenshots``, saves the home page and the GIL page there.
Needs Chromium and its driver (Debian: ``chromium``, ``chromium-driver``) and the ``browser``
extra (Selenium).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# As this machine's probe starts it: no sandbox (root), and no background traffic, which a
# closed network refuses
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
]


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No line per request."""


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def problems_on(driver: Any, url: str) -> list[str]:
    """What is wrong with the page at ``url``: console errors, images not loaded."""
    driver.get(url)
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    found = [f"{url}: console error: {error}" for error in errors]
    return found + [f"{url}: image not loaded: {src}" for src in broken]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.browse", description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, nargs="?", default=ROOT / "site")
    parser.add_argument("--screenshots", type=Path, help="save the home page and the GIL page here")
    args = parser.parse_args(argv)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        print("spec.browse: needs Chromium and chromedriver (Debian: chromium, chromium-driver)", file=sys.stderr)
        return 2
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    pages = sorted(path.relative_to(args.site).as_posix() for path in args.site.rglob("*.html"))
    problems: list[str] = []
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        with served(args.site) as base:
            for page in pages:
                problems += problems_on(driver, f"{base}/{page}")
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                for page, name in (("index.html", "home.png"), ("claims/gil.html", "gil.png")):
                    driver.get(f"{base}/{page}")
                    driver.save_screenshot(str(args.screenshots / name))
    finally:
        driver.quit()
    for problem in problems:
        print(problem)
    print(f"spec.browse: {len(pages)} pages opened in Chromium, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
