"""Acceptance (issue #17): axe-core finds no serious or critical accessibility violation on any page.

axe-core comes from npm, pinned in tests/axe/package-lock.json (scripts/test.sh installs it). It is
injected into every page of the configuration UI of a real, branded `partnercrmd serve` in Debian's
Chromium: every page reachable by links once logged in (the tour of tests/ui_tour.py, so pages added
later are checked too) while an application waits for approval (its banner is on every page), a book's
page after Test, an add form refused with its errors, the extension's install pages, and the page shown
without a login. Violations of impact "serious" or "critical" fail the test, each with its rule, the
elements and axe's help address.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from tests.daemon_process import in_background
from tests.ui_tour import UiDaemon, origin_of, tour

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
FAILING_IMPACTS = ("serious", "critical")
BRANDING = (
    '[product]\nname = "Acme Connect"\nvendor = "Acme Telecom"\n'
    '[product.colours]\nprimary = "#5b2a86"\naccent = "#f2e9fb"\n'
)
"""A partner's colours too: the contrast of its header and buttons is checked as users see it."""


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiDaemon]:
    assert AXE.is_file(), f"{AXE} is missing: scripts/test.sh installs it (cd tests/axe && npm ci)"
    instance = UiDaemon.start(tmp_path_factory.mktemp("accessibility"), BRANDING)
    try:
        yield instance
    finally:
        instance.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in result["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = [json.dumps(node["target"]) for node in violation["nodes"][:3]]
            found.append(
                f"{violation['impact']} {violation['id']}: {violation['help']} ({violation['helpUrl']}) "
                f"at {', '.join(targets)}"
            )
    return found


def test_no_page_has_a_serious_or_critical_violation(ui: UiDaemon, browser: Browser) -> None:
    in_background(ui.daemon.register, "a11y-waiting-app", "Waiting softphone", token="")  # waits: its banner shows
    page = ui.login(browser, VIEWPORT)
    found: dict[str, list[str]] = {}
    visited = []
    for path in tour(page):
        visited.append(path)
        found[path] = serious_violations(page)
    assert {"/ui/integrations", "/ui/dialling", "/ui/applications", "/ui/viewer", "/ui/about"} <= set(visited)
    assert any(p.endswith("/add") for p in visited) and any(p.startswith("/ui/books/") for p in visited), visited

    page.goto(origin_of(page) + "/ui/books/local")
    test_button = page.get_by_role("button", name="Test")
    if test_button.count():
        test_button.first.click()
        page.wait_for_load_state()
        found["/ui/books/local after Test"] = serious_violations(page)

    page.goto(origin_of(page) + "/ui/integrations/carddav/add")
    for field in page.locator("form input[required]").all():  # the browser's checks pass, the daemon's refuse
        field.fill("ftp://carddav.example/" if field.get_attribute("type") == "url" else "x")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert page.locator(".error").count(), "the refused form shows its errors"
    found["/ui/integrations/carddav/add refused"] = serious_violations(page)

    anonymous = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
    anonymous.goto(origin_of(page) + "/ui/integrations")
    found["/ui/integrations without a login"] = serious_violations(anonymous)
    anonymous.context.close()
    banner = page.locator(".approval-banner")
    page.goto(origin_of(page) + "/ui/applications")
    assert banner.count() and "Waiting softphone" in banner.inner_text(), "the approval banner was checked"
    page.get_by_role("button", name="Deny Waiting softphone").first.click()
    page.context.close()

    failing = {path: lines for path, lines in found.items() if lines}
    report = "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in failing.items())
    assert not failing, f"axe-core: serious or critical violations on {len(failing)} of {len(found)} pages:\n{report}"
