"""Acceptance (issue #17): Debian's Chromium (Playwright) adds, edits and deletes a local contact through the pages
of a real `partnercrmd serve`, and a registered application finds it (and then not) through `POST Search`; the
start page filters as the user types and leads to the integration's form.

`ShowWindow` opens the one-time login link with the "browser" named by BROWSER: a script that writes the link
to a file, from which the test's Chromium takes it. With PARTNERCRMD_SCREENSHOTS=<dir> each page is saved there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.daemon_process import Daemon, wait_until
from tests.recording_browser import RecordingBrowser

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pages-browser")


@pytest.fixture(scope="module")
def recorder(base: Path) -> RecordingBrowser:
    return RecordingBrowser.create(base)


@pytest.fixture(scope="module")
def daemon(base: Path, recorder: RecordingBrowser) -> Iterator[Daemon]:
    env = {
        **recorder.env,
        "XDG_DATA_HOME": str(base / "xdg-data"),
        "XDG_CONFIG_HOME": str(base / "xdg-config"),
    }
    instance = Daemon(base / "home", extra_env=env)
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    return daemon.register_trusted("Pages softphone")


@pytest.fixture
def open_window(
    daemon: Daemon, app_id: str, browser: Browser, recorder: RecordingBrowser
) -> Iterator[Callable[[str], Page]]:
    """ShowWindow, then follow the one-time link the daemon gave the "browser", in a new 1280x800 context."""
    pages: list[Page] = []

    def open_it(window: str) -> Page:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(recorder.login_link(daemon, app_id, window))
        pages.append(page)
        return page

    yield open_it
    for page in pages:
        page.context.close()


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("PARTNERCRMD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def found(daemon: Daemon, app_id: str, query: str) -> list[str]:
    """The names the local book answers `POST Search` for `query` with."""
    collections = daemon.search(app_id, query)
    return [r["DisplayText"] for c in collections if c["AddinId"] == "local" for r in c["Records"]]


def test_add_edit_and_delete_a_local_contact_and_find_it_through_search(
    daemon: Daemon, app_id: str, open_window: Callable[[str], Page]
) -> None:
    assert found(daemon, app_id, "+44 20 7946 0321") == []
    page = open_window("integrations")
    page.get_by_role("link", name="Contacts", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ui/contacts/local$"))
    page.get_by_role("link", name="Add a contact").click()
    page.get_by_label("First name").fill("Marie")
    page.get_by_label("Last name").fill("Curie")
    page.get_by_label("Company").fill("Radium Institute")
    page.get_by_label("Number 1", exact=True).fill("+44 20 7946 0321")
    page.get_by_label("What number 2 is for").select_option(label="Mobile")
    page.get_by_label("Number 2", exact=True).fill("07700 900321")
    page.get_by_label("E-mail 1").fill("marie@radium.example")
    page.get_by_label("E-mail 2").fill("m.curie@example.org")
    screenshot(page, "contact-add")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("status")).to_have_text("The contact was added.")
    assert wait_until(lambda: found(daemon, app_id, "07700 900321"), timeout=10, what="Search") == ["Marie Curie"]
    assert found(daemon, app_id, "020 7946 0321") == ["Marie Curie"]

    # Find her in the list with the page's search, then edit: a new name, the mobile number changed.
    page.get_by_label("Search by name, company, e-mail or number").fill("curie")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#contact-list tbody tr")).to_have_count(1)
    screenshot(page, "contacts")
    page.get_by_role("link", name="Edit Marie Curie").click()
    expect(page.get_by_label("Number 2", exact=True)).to_have_value("07700 900321")
    page.get_by_label("Display name").fill("Dr Marie Curie")
    page.get_by_label("Number 2", exact=True).fill("07700 900999")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr Marie Curie")
    assert found(daemon, app_id, "07700 900999") == ["Dr Marie Curie"]
    assert found(daemon, app_id, "07700 900321") == []

    # A wrong change is refused beside its field and nothing typed is lost.
    page.get_by_label("E-mail 1").fill("marie at radium")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#email-0-error")).to_have_text("An e-mail address looks like name@example.com.")
    expect(page.get_by_label("E-mail 1")).to_have_value("marie at radium")
    expect(page.get_by_label("Display name")).to_have_value("Dr Marie Curie")
    assert found(daemon, app_id, "marie@radium.example") == ["Dr Marie Curie"]  # the refused form stored nothing
    page.get_by_label("E-mail 1").fill("marie@radium.example")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    # Delete, confirming.
    page.get_by_role("link", name="Delete this contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete Dr Marie Curie?")
    screenshot(page, "contact-delete")
    page.get_by_label("Yes, delete Dr Marie Curie").check()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("The contact was deleted.")
    assert found(daemon, app_id, "+44 20 7946 0321") == []
    assert found(daemon, app_id, "Curie") == []


def test_the_start_page_filters_as_you_type_and_leads_to_the_form(
    daemon: Daemon, open_window: Callable[[str], Page]
) -> None:
    page = open_window("configuration")
    expect(page.get_by_role("heading", level=1)).to_have_text("Which CRM do you use?")
    screenshot(page, "start")
    search = page.get_by_label(re.compile("^Search by name, another name or kind"))
    search.press_sequentially("help desk")
    expect(page.locator("section.category:visible h2")).to_have_text(["Help desk"])
    help_desks = page.locator("li.card:visible").count()
    assert help_desks >= 2 and page.locator("li.card:visible[data-integration='zendesk']").count() == 1
    expect(page.locator("#start-count")).to_have_text(f"{help_desks} integrations match “help desk”.")
    search.fill("")
    search.press_sequentially("sfdc")  # Salesforce's other name
    expect(page.locator("li.card:visible")).to_have_count(1)
    search.press("Enter")  # the form: one match goes straight to its add form
    expect(page).to_have_url(re.compile(r"/ui/integrations/salesforce/add$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Add Salesforce")
