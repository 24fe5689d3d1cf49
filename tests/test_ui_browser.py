"""Acceptance: Debian's Chromium (Playwright) drives the configuration UI of a real, branded `partnercrmd serve`.

One daemon for the module, branded "Acme Connect" with the partner's public key,
the test add-in with a Controlled integration installed through an entry point,
and a real Radicale for the CardDAV book. `ShowWindow` opens the one-time login
link with the "browser" named by BROWSER: a script that writes the link to a file,
from which the test's Chromium takes it. The viewport is 1280x800 throughout.

With PARTNERCRMD_SCREENSHOTS=<dir> the page tour saves a screenshot of each page there
(docs/screenshots/ itself is refreshed by scripts/screenshots.py).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, expect

from partnercrmd.partner_keys import generate_private_key, load_private_key
from partnercrmd.unlock import issue_code
from tests.backend_servers import PERSON, PERSON_NUMBER, Backend, start_carddav
from tests.daemon_process import Daemon, in_background, wait_until
from tests.recording_browser import RecordingBrowser

TESTS = Path(__file__).resolve().parent
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PRODUCT = "Acme Connect"
LOCAL_PERSON = "Alice Hartley"
"""A sample contact of the local book with PERSON_NUMBER, the number Radicale's Dana has too."""
LOCAL_NAME = "My contacts"
CARDDAV_NAME = "Team CardDAV"


@pytest.fixture(scope="module")
def partner_key() -> tuple[str, str]:
    return generate_private_key()


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    backend = start_carddav(tmp_path_factory.mktemp("radicale"))
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(scope="module")
def ui_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-browser")


@pytest.fixture(scope="module")
def recorder(ui_base: Path) -> RecordingBrowser:
    """The daemon's "browser": it writes down every URL it is asked to open."""
    return RecordingBrowser.create(ui_base)


@pytest.fixture(scope="module")
def daemon(ui_base: Path, recorder: RecordingBrowser, partner_key: tuple[str, str]) -> Iterator[Daemon]:
    base = ui_base
    site = base / "site"
    dist_info = site / "controlledaddin-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: controlledaddin\nVersion: 1.0\n", "utf-8")
    (dist_info / "entry_points.txt").write_text("[partnercrmd.addins]\ncontrolled = controlled_addin\n", "utf-8")
    Image.new("RGB", (64, 32), (242, 160, 60)).save(base / "acme-logo.png")
    branding = base / "branding.toml"
    branding.write_text(
        f'[product]\nname = "{PRODUCT}"\nvendor = "Acme Telecom"\nlogo = "acme-logo.png"\n'
        'guide_url = "https://acme.example/guide"\nrequest_integration_url = "https://acme.example/request"\n'
        '[product.colours]\nprimary = "#5b2a86"\naccent = "#f2e9fb"\n'
        f'[keys]\npublic_key = "{partner_key[1]}"\n',
        encoding="utf-8",
    )
    env = {
        "PYTHONPATH": f"{site}:{TESTS}",
        "PARTNERCRMD_BRANDING": str(branding),
        **recorder.env,
        "XDG_DATA_HOME": str(base / "xdg-data"),
        "XDG_CONFIG_HOME": str(base / "xdg-config"),
    }
    instance = Daemon(base / "acme-home", extra_env=env)  # a partner's installer names the home after its product
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    return daemon.register_trusted("Acceptance softphone")


@pytest.fixture
def open_window(daemon: Daemon, app_id: str, browser: Browser, recorder: RecordingBrowser) -> Callable[..., Page]:
    """ShowWindow, then follow the one-time link the daemon gave the "browser", in a new 1280x800 context."""

    def open_it(window: str = "integrations") -> Page:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(recorder.login_link(daemon, app_id, window))
        expect(page).to_have_url(re.compile(rf"/ui/{window}$"))
        return page

    return open_it


def screenshot(page: Page, name: str) -> None:
    """With PARTNERCRMD_SCREENSHOTS=<dir>, save the page there as <name>.png (how docs/screenshots/ is made)."""
    folder = os.environ.get("PARTNERCRMD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def book_names(daemon: Daemon, app_id: str, query: str) -> list[tuple[str, list[str]]]:
    return [(c["AddinName"], [r["DisplayText"] for r in c["Records"]]) for c in daemon.search(app_id, query)]


def test_configure_local_and_carddav_books_test_them_search_and_reorder(
    daemon: Daemon, app_id: str, open_window: Callable[..., Page], radicale: Backend, recorder: RecordingBrowser
) -> None:
    page = open_window()
    # The local address book: configure it through its form, then Test.
    page.get_by_role("link", name="Configure Local address book").click()
    page.get_by_label("Name", exact=True).fill(LOCAL_NAME)
    page.get_by_label("Open the caller's record").select_option(label="When the phone rings")  # the Calls fieldset
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Open the caller's record")).to_have_value("OnRinging")
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#test-summary")).to_have_text("Every check passed.")

    # A CardDAV book on the real Radicale, with a wrong password first.
    page.get_by_role("link", name="Integrations", exact=True).click()
    page.get_by_role("link", name="Add CardDAV").click()
    page.get_by_label("Name", exact=True).fill(CARDDAV_NAME)
    page.get_by_label("Server address").fill(radicale.settings["url"])
    page.get_by_label("User name").fill(radicale.settings["username"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_label("Address book", exact=True).fill(radicale.settings["addressbook"])
    page.get_by_role("button", name="Add address book").click()
    # The quick connection refuses the password; saved anyway (typed once more), to see Test fail and fix it.
    expect(page.get_by_role("button", name="Save anyway")).to_be_visible()
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CARDDAV_NAME)
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#test-summary")).to_have_text("A check failed: see what to do in the table above.")
    failed = page.locator("#test-results tr.failed").first
    expect(failed).to_contain_text("Failed")
    expect(failed).to_contain_text("Check the user name and password")
    assert radicale.settings["password"] not in page.content()
    screenshot(page, "test-failed")
    expect(page.locator("#test-status")).to_contain_text(f"Status of {CARDDAV_NAME}: Needs attention")
    page.get_by_role("link", name=f"Back to {CARDDAV_NAME}").click()  # Test has a page of its own (issue #17)

    # The right password: saved (the field is never filled in again), then every check passes.
    expect(page.get_by_text("Set: leave blank to keep it.")).to_be_visible()
    page.get_by_label("Password").fill(radicale.settings["password"])
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert page.get_by_label("Password").input_value() == ""
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator("#test-summary")).to_have_text("Every check passed.", timeout=90_000)
    expect(page.locator("#test-results tr.passed")).not_to_have_count(0)
    screenshot(page, "test-passed")
    assert radicale.settings["password"] not in page.content()

    # Search over the API finds the contacts of both books, in the order of the list.
    def found() -> list[tuple[str, list[str]]] | None:
        answer = book_names(daemon, app_id, PERSON_NUMBER)
        return answer if all(records for _, records in answer) and len(answer) == 2 else None

    assert wait_until(found, timeout=30, what="both books answering") == [
        (LOCAL_NAME, [LOCAL_PERSON]),
        (CARDDAV_NAME, [PERSON]),
    ]
    # A call rings: the local book (OnRinging, set through its form) opens its caller's record in the "browser".
    seen = len(recorder.urls())
    ringing = daemon.call(
        "POST", "CallEvent", app_id, CallId="ui-pop-1", State="Ringing", Direction="Inbound", CallerNumber=PERSON_NUMBER
    )
    assert ringing["Popped"].startswith("local/"), ringing
    popped = wait_until(lambda: recorder.urls()[seen:], timeout=10, what="the record popping")
    record = page.context.new_page()
    record.goto(popped[-1])
    expect(record.get_by_text(LOCAL_PERSON).first).to_be_visible()
    record.close()
    # Reorder: CardDAV up, and its results come first.
    page.get_by_role("link", name="Integrations", exact=True).click()
    page.get_by_role("button", name=f"Move {CARDDAV_NAME} up").click()
    expect(page.get_by_role("status")).to_contain_text("The order was changed")
    rows = page.locator("#books tbody tr")
    expect(rows.nth(0)).to_contain_text(CARDDAV_NAME)
    assert wait_until(found, timeout=30, what="both books answering again") == [
        (CARDDAV_NAME, [PERSON]),
        (LOCAL_NAME, [LOCAL_PERSON]),
    ]
    page.context.close()


def test_a_controlled_integration_appears_only_after_a_valid_code(
    open_window: Callable[..., Page], partner_key: tuple[str, str]
) -> None:
    page = open_window()
    add_list = page.locator("#add")
    expect(add_list).not_to_contain_text("VIP CRM")
    page.get_by_role("link", name="CRM viewer").click()
    expect(page.locator("#viewer-table")).not_to_contain_text("VIP CRM")

    page.get_by_role("link", name="Integrations", exact=True).click()
    other_partner = load_private_key(generate_private_key()[0])
    page.get_by_label("Unlock code").fill(issue_code(other_partner, ["vipcrm"]))
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("alert")).to_contain_text("was not issued for this product or has been altered")
    expect(page.locator("#add")).not_to_contain_text("VIP CRM")

    code = issue_code(load_private_key(partner_key[0]), ["vipcrm"])
    page.get_by_label("Unlock code").fill(code)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("status")).to_contain_text("Unlocked")
    expect(page.locator("#add")).to_contain_text("VIP CRM")
    page.get_by_role("link", name="Add VIP CRM").click()
    expect(page.get_by_label("API token")).to_have_attribute("type", "password")
    page.get_by_role("link", name="CRM viewer").click()
    expect(page.locator("#viewer-table")).to_contain_text("VIP CRM")
    # The viewer's search filters as the user types (the script), without a round trip.
    page.get_by_label("Search integrations").press_sequentially("vip")
    expect(page.locator("#viewer-table tbody tr:visible")).to_have_count(1)
    expect(page.locator("#viewer-table tbody tr:visible")).to_contain_text("VIP CRM")
    expect(page.locator("#viewer-count")).to_contain_text("1 of")
    page.get_by_label("Search integrations").fill("")
    page.get_by_label("Search integrations").press_sequentially("pictures")
    visible = page.locator("#viewer-table tbody tr:visible th").all_inner_texts()
    assert visible and not any("VIP CRM" in name for name in visible)  # VIP CRM has no pictures
    page.context.close()


def test_approve_a_pending_register(daemon: Daemon, open_window: Callable[..., Page]) -> None:
    waiting_id = str(uuid.uuid4())
    fields = {"Name": "Desk phone 7", "Id": waiting_id}  # no install token: the user must approve it
    registration = in_background(daemon.request, "POST", "Register", fields, timeout=90)
    page = open_window("integrations")
    page.get_by_role("link", name="Applications").click()

    def listed() -> bool:
        page.reload()
        return page.locator(f'#pending tr[data-app="{waiting_id}"]').count() == 1

    assert not registration.done(), registration.result()  # Register waits for the user's decision
    wait_until(listed, timeout=20, interval=0.3, what="the registration in the pending list")
    page.get_by_role("button", name="Approve Desk phone 7").click()
    expect(page.get_by_role("status")).to_have_text("Approved.")
    expect(page.locator(f'#approved tr[data-app="{waiting_id}"]')).to_be_visible()
    assert registration.result(timeout=30).status == 204
    assert daemon.address_books(waiting_id)  # the approved application may use the API now
    page.context.close()


def test_dialling_preview_updates_as_the_user_types(open_window: Callable[..., Page]) -> None:
    page = open_window("dialling")
    page.get_by_label("Type a number").press_sequentially("020 7946 0958")
    expect(page.locator("#preview-destination")).to_have_text("+442079460958")
    page.get_by_label("Outside-line prefix").fill("9")
    page.get_by_label("Number format sent to the phone system").select_option("national")
    page.get_by_role("button", name="Save dialling settings").click()
    expect(page.locator("p.notice.ok")).to_have_text("Saved.")
    page.get_by_label("Type a number").press_sequentially("020 7946 0958")
    expect(page.locator("#preview-destination")).to_have_text("902079460958")
    page.get_by_label("Type a number").fill("")
    page.get_by_label("Type a number").press_sequentially("2001")
    expect(page.locator("#preview-result")).to_contain_text("an internal extension")
    page.context.close()


def without_identifiers(html: str) -> str:
    """The page without the names of things that keep theirs in a branded build: environment variables
    (PARTNERCRMD_KEYRING=0 in the vault-key line, set by whoever runs the daemon) and the command in
    `partnercrmd …` hints (an add-in's help may tell the user to run one). docs/branding.md says so."""
    return re.sub(r"PARTNERCRMD_[A-Z_]+|`partnercrmd [a-z][^`]{0,80}`", "", html)


def _pages_of_the_ui(page: Page) -> list[str]:
    """Every page reachable from the navigation, and the book and add-integration pages they link to."""
    paths = page.eval_on_selector_all("nav a", "els => els.map(a => a.getAttribute('href'))")
    page.goto(page.url.split("/ui/")[0] + "/ui/integrations")
    more = page.eval_on_selector_all(
        "#books a[href^='/ui/books/'], #add a[href$='/add']", "els => els.map(a => a.getAttribute('href'))"
    )
    return list(dict.fromkeys([*paths, *more]))


def test_a_branded_build_shows_no_default_name_and_every_page_is_usable(open_window: Callable[..., Page]) -> None:
    page = open_window()
    origin = page.url.split("/ui/")[0]
    paths = _pages_of_the_ui(page)
    assert {"/ui/integrations", "/ui/dialling", "/ui/applications", "/ui/viewer", "/ui/about"} <= set(paths)
    for path in paths:
        page.goto(origin + path)
        html = page.content()
        text = page.inner_text("body")
        assert PRODUCT in page.title() and PRODUCT in text, path
        scanned = without_identifiers(html).lower()
        assert "partnercrmd" not in scanned, f"{path}: {scanned[scanned.find('partnercrmd') - 100 :][:220]}"
        unlabelled: list[Any] = page.eval_on_selector_all(
            "input:not([type=hidden]), select, textarea",
            "els => els.filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name)",
        )
        assert unlabelled == [], f"{path}: inputs without a label: {unlabelled}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways at 1280x800 ({overflow}px)"
        logo_width = page.locator("header img.logo").evaluate("img => img.complete ? img.naturalWidth : 0")
        assert logo_width == 64, f"{path}: the partner's logo did not load"
        header = page.locator("header").evaluate("h => getComputedStyle(h).backgroundColor")
        assert header == "rgb(91, 42, 134)", f"{path}: the partner's colour is not applied ({header})"
        screenshot(page, path.strip("/").replace("/", "-").removeprefix("ui-"))
    page.context.close()
