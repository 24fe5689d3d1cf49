"""Refresh docs/screenshots/: every configuration page at 1280x800 and at 800x600, in Debian's Chromium.

    python3 scripts/screenshots.py [--out docs/screenshots]

Runs a real `partnercrmd serve` branded "Acme Connect" (as a partner ships it) with a second book whose
server does not answer, takes the tour of tests/ui_tour.py (every page reachable by links, so new pages
are included without being named here) and saves `<page>.png` (1280x800) and `<page>-800x600.png`
(whole pages, so what is below the fold shows too), plus `test-passed.png` and `test-failed.png`:
a book's page after Test. Needs what scripts/test.sh installs; the test suite never runs it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' helpers: run from anywhere as a plain script

from PIL import Image  # noqa: E402  (after the path is set)
from playwright.sync_api import Page, ViewportSize, sync_playwright  # noqa: E402

from tests.browser_session import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.daemon_process import run_cli  # noqa: E402
from tests.ui_tour import UiDaemon, origin_of, page_name, tour  # noqa: E402

VIEWPORTS: dict[str, ViewportSize] = {"": {"width": 1280, "height": 800}, "-800x600": {"width": 800, "height": 600}}
"""File-name suffix → viewport."""
BRANDING = (
    '[product]\nname = "Acme Connect"\nvendor = "Acme Telecom"\nlogo = "acme-logo.png"\n'
    'guide_url = "https://acme.example/guide"\nrequest_integration_url = "https://acme.example/request"\n'
    '[product.colours]\nprimary = "#5b2a86"\naccent = "#f2e9fb"\n'
)


def save(page: Page, folder: Path, name: str) -> None:
    """The whole page as <name>.png, in 256 colours (a quarter of the size; the pages use few colours)."""
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    with Image.open(target) as shot:
        small = shot.convert("RGB").quantize(colors=256)
    small.save(target, optimize=True)
    print(target)


def test_book(page: Page, book: str) -> None:
    """Open a book's page and press Test; back when its result is on the page."""
    page.goto(origin_of(page) + f"/ui/books/{book}")
    page.get_by_role("button", name="Test").first.click()
    page.wait_for_load_state("networkidle")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    folder: Path = args.out
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as temp:
        base = Path(temp)
        Image.new("RGB", (64, 32), (242, 160, 60)).save(base / "acme-logo.png")
        ui = UiDaemon.start(base, BRANDING)
        try:
            unreachable = run_cli(
                ui.daemon.home,
                *("books", "add", "carddav", "--name", "Team CardDAV", "--no-check"),
                *("--set", "url=http://127.0.0.1:9/dav/", "--set", "username=ann", "--set", "password=x"),
                extra_env=ui.daemon.extra_env,
            )
            if unreachable.returncode:
                print(unreachable.stdout, unreachable.stderr, file=sys.stderr)
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for suffix, viewport in VIEWPORTS.items():
                    page = ui.login(browser, viewport)
                    for path in tour(page):
                        save(page, folder, page_name(path) + suffix)
                    test_book(page, "local")
                    save(page, folder, "test-passed" + suffix)
                    for book in ui.daemon.address_books(ui.app_id):
                        if book.get("Name") == "Team CardDAV":  # its server does not answer: Test fails
                            test_book(page, str(book["AddinId"]))
                            save(page, folder, "test-failed" + suffix)
                    page.context.close()
                browser.close()
        finally:
            ui.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
