"""Acceptance of issue #20: a client of the Integrator localhost API works against partnercrmd unchanged.

The client (tests/compat/integrator_client.mjs) and the scenario (tests/compat/scenario.mjs) are written from the
wire format in ../shared/design/API.md alone, not from any client library's code: form bodies with falsy fields
omitted, camelCase or PascalCase field names, the ApplicationId header, the event WebSocket. The same scenario
runs from a Node program and from a web page in Chromium served from an allowed origin, over HTTP and HTTPS,
against one real `partnercrmd serve`; every answer and event is checked here against the shapes of
tests/integrator_shapes.py (also written from API.md). From an origin that is not allowed the page gets nothing.

Registration is confirmed the way a user does it (`partnercrmd apps approve ID` while Register waits).

HTTPS: the daemon's local authority is installed with `partnercrmd tls install` into the NSS database of a
temporary user home, which Chromium reads (HOME points there); Node trusts it through NODE_EXTRA_CA_CERTS. The
https page is served under a second test authority added to the same database. That page is put on the public
address space (`--ip-address-space-overrides`), so its calls to the daemon on loopback cross into the local
network: Chromium 142 and later ask the user for Local Network Access there instead of sending the Private
Network Access preflight (the PNA headers are answered and tested at HTTP level in tests/test_web_origins.py);
the test grants that permission as the user would, and the whole scenario must then pass.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import ssl
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from playwright.sync_api import Browser, BrowserContext, Playwright

from partnercrmd import tls
from partnercrmd.paths import Paths
from tests import integrator_shapes as shapes
from tests.browser_session import CHROMIUM, CHROMIUM_ARGS
from tests.daemon_process import SERVE_ARGS, Daemon, describe, in_background, run_cli, wait_until
from tests.page_server import PageServer, serve_pages, with_local_network_access
from tests.recording_browser import RecordingBrowser
from tests.test_tls import free_port

COMPAT_DIR = Path(__file__).parent / "compat"
NODE = shutil.which("node") or "node"
KNOWN_CALLER_DIGITS = "2079460958"
_runs = itertools.count()


def number_to_dial() -> str:
    """A different number for each run: the daemon drops a Dial repeating the last number within seconds."""
    return f"+44207946{next(_runs) % 1000:04d}"


# --- the page server: a web page of another origin --------------------------------------------------------


@pytest.fixture(scope="module")
def user_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's home with the NSS database Chromium reads, trusting the page server's own test authority."""
    home = tmp_path_factory.mktemp("compat-user")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, timeout=30)
    return home


@pytest.fixture(scope="module")
def https_pages(user_home: Path) -> Iterator[PageServer]:
    """The page over HTTPS, under a test authority of its own that the user's NSS database trusts."""
    now = datetime.now(UTC)
    authority = tls.create_authority("compat pages", now)
    leaf, key = tls.issue_leaf(authority, now)
    files = tls.TlsFiles(user_home / "page-tls")
    files.directory.mkdir()
    authority_pem = authority.certificate.public_bytes(Encoding.PEM)
    files.authority.write_bytes(authority_pem)
    files.leaf.write_bytes(leaf.public_bytes(Encoding.PEM) + authority_pem)
    files.leaf_key.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    nssdb = user_home / ".pki" / "nssdb"
    subprocess.run(
        ["certutil", "-d", f"sql:{nssdb}", "-A", "-n", "compat pages", "-t", "C,,", "-i", str(files.authority)],
        check=True,
        timeout=30,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.leaf, files.leaf_key)
    pages = serve_pages(COMPAT_DIR, context)
    yield pages
    pages.close()


@pytest.fixture(scope="module")
def allowed_pages() -> Iterator[PageServer]:
    pages = serve_pages(COMPAT_DIR)
    yield pages
    pages.close()


@pytest.fixture(scope="module")
def foreign_pages() -> Iterator[PageServer]:
    pages = serve_pages(COMPAT_DIR)
    yield pages
    pages.close()


# --- the daemon ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> RecordingBrowser:
    return RecordingBrowser.create(tmp_path_factory.mktemp("integrator-compat"))


@pytest.fixture(scope="module")
def daemon(
    recorder: RecordingBrowser, user_home: Path, allowed_pages: PageServer, https_pages: PageServer
) -> Iterator[Daemon]:
    """One daemon for every run: HTTP and HTTPS (its authority installed in the user's NSS database)."""
    base = recorder.script.parent
    home = base / "home"
    env = {**recorder.env, "HOME": str(user_home)}
    for command in (
        ("settings", "set", f"web_origins={allowed_pages.origin},{https_pages.origin}"),
        ("tls", "install"),
    ):
        result = run_cli(home, *command, extra_env=env)
        assert result.returncode == 0, describe(result)
    instance = Daemon(home, args=(*SERVE_ARGS, "--https-port", str(free_port())), extra_env=env)
    try:
        yield instance.start()
    finally:
        instance.close()


def http_base(daemon: Daemon) -> str:
    return f"http://localhost:{daemon.port}"


def https_base(daemon: Daemon) -> str:
    return f"https://localhost:{daemon.info['https_port']}"


def authority_file(daemon: Daemon) -> Path:
    """The daemon's local authority (what `tls install` put in the user's trust stores)."""
    return tls.TlsFiles.of(Paths.under(daemon.home)).authority


def approve_when_waiting(daemon: Daemon, app_id: str) -> Future[None]:
    """Approve the application as its user would, once its Register is waiting (in the background)."""

    def approve() -> None:
        wait_until(
            lambda: run_cli(daemon.home, "apps", "approve", app_id).returncode == 0,
            timeout=20,
            interval=0.2,
            what=f"application {app_id} waiting for approval",
        )

    return in_background(approve)


# --- the runs -------------------------------------------------------------------------------------------------


def run_node(daemon: Daemon, base_url: str, casing: str) -> dict[str, Any]:
    """The scenario from a Node program; over HTTPS it trusts the daemon's authority (NODE_EXTRA_CA_CERTS)."""
    app_id = str(uuid.uuid4())
    dial = number_to_dial()
    approval = approve_when_waiting(daemon, app_id)
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(authority_file(daemon))}
    finished = subprocess.run(
        [
            NODE,
            "--experimental-websocket",
            "--no-warnings",
            str(COMPAT_DIR / "run_node.mjs"),
            base_url,
            app_id,
            casing,
            f"Compat Node {casing}",
            dial,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    approval.result(timeout=30)
    assert finished.returncode == 0, f"node exited {finished.returncode}:\n{finished.stderr}"
    result: dict[str, Any] = json.loads(finished.stdout)
    result["app_id"] = app_id
    result["dial"] = dial
    return result


def run_page(context: BrowserContext, daemon: Daemon, pages: PageServer, base_url: str, casing: str) -> dict[str, Any]:
    """The scenario from the page of `pages` in a fresh browser profile (closed afterwards)."""
    app_id = str(uuid.uuid4())
    dial = number_to_dial()
    approval = approve_when_waiting(daemon, app_id)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        query = urllib.parse.urlencode(
            {"base": base_url, "app": app_id, "casing": casing, "name": f"Compat page {casing}", "dial": dial}
        )
        page.goto(f"{pages.origin}/page.html?{query}")
        result: dict[str, Any] = page.evaluate("window.compatResult", None)
    finally:
        context.close()
    approval.result(timeout=30)
    result["app_id"] = app_id
    result["dial"] = dial
    return result


# --- the checks -------------------------------------------------------------------------------------------------


def checked(result: dict[str, Any], step: str, status: int | tuple[int, ...], shape: Any = None) -> Any:
    """The body of a step that answered `status` and fits `shape`; AssertionError naming the step otherwise."""
    assert step in result["steps"], f"{step}: no answer ({result['errors']})"
    answer = result["steps"][step]
    statuses = status if isinstance(status, tuple) else (status,)
    assert answer["status"] in statuses, f"{step}: HTTP {answer['status']} {answer['body']!r:.500}"
    if shape is not None:
        found = shapes.problems(answer["body"], shape)
        assert not found, f"{step}: the answer does not fit the wire format:\n" + "\n".join(found[:20])
    return answer["body"]


def event_of(result: dict[str, Any], label: str, shape: Any) -> dict[str, Any]:
    assert label in result["events"], f"{label}: not received ({result['errors']})"
    event: dict[str, Any] = result["events"][label]
    found = shapes.problems(event, shape)
    assert not found, f"{label}: the event does not fit the wire format:\n" + "\n".join(found[:20])
    return event


def records(collections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for collection in collections for record in collection["Records"]]


def display_texts(collections: list[dict[str, Any]]) -> list[str]:
    return [record["DisplayText"] for record in records(collections)]


def field_value(record: dict[str, Any], well_known: str) -> str:
    return next((f["Value"] for f in record["Fields"] if f["WellKnownName"] == well_known), "")


def our_call(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in calls if KNOWN_CALLER_DIGITS in json.dumps(c["CallerContact"])]


def assert_whole_api(result: dict[str, Any], recorder: RecordingBrowser, opened_before: int) -> None:
    """Every route and event of the scenario answered as API.md describes.

    `opened_before`: how many URLs the browser had opened before the run (DoAction Open and ShowWindow open two).
    """
    assert not result["errors"], "the scenario failed:\n" + "\n".join(result["errors"])

    assert result["steps"]["Register"]["status"] == 204
    version = checked(result, "Version", 200, shapes.VERSION)
    assert checked(result, "Ping", 200, {"Id": str}) == {"Id": "ping-42"}

    initial = event_of(result, "Initial", shapes.INITIAL)
    assert initial["EventType"] == "Initial"
    assert initial["Payload"]["Version"] == version

    by_number = checked(result, "Search number", 200, [shapes.ADDIN_COLLECTION])
    assert "Alice Hartley" in display_texts(by_number)
    assert "Chris Huffman" in display_texts(checked(result, "Search name", 200, [shapes.ADDIN_COLLECTION]))
    assert all(len(c["Records"]) <= 1 for c in checked(result, "Search paged", 200, [shapes.ADDIN_COLLECTION]))
    books = checked(result, "AddressBooks", 200, [shapes.ADDRESS_BOOK])
    assert books, "AddressBooks is empty"
    assert checked(result, "RecordTypes", 200, [shapes.RECORD_TYPE])

    draft = checked(result, "CreateNewRecord draft", 200, shapes.CONTACT_RECORD)
    assert not any(f["Value"] for f in draft["Fields"]), f"a draft record is empty: {draft['Fields']}"
    saved = checked(result, "SaveRecord draft", 200, shapes.CONTACT_RECORD)
    assert "Nadia" in saved["DisplayText"] and saved["UniqueId"] != draft["UniqueId"]
    assert (
        display_texts(checked(result, "Search saved draft", 200, [shapes.ADDIN_COLLECTION])).count("Nadia Compat") >= 1
    )
    created = checked(result, "CreateNewRecord fields", 200, shapes.CONTACT_RECORD)
    assert "Omar" in created["DisplayText"]
    changed = checked(result, "SaveRecord existing", 200, shapes.CONTACT_RECORD)
    assert field_value(changed, "Notes") == "Prefers mornings"

    for state in ("Ringing", "Answered", "Ended"):
        checked(result, f"CallEvent {state}", (200, 204))
    ringing = event_of(result, "CallsChanged ringing", shapes.CALLS_CHANGED)
    assert [c["Completed"] for c in our_call(ringing["Payload"]["Calls"])] == [False]
    event_of(result, "CallsChanged answered", shapes.CALLS_CHANGED)
    ended = event_of(result, "CallsChanged ended", shapes.CALLS_CHANGED)
    assert all(c["Completed"] for c in our_call(ended["Payload"]["Calls"])), "the ended call is still in progress"
    history = event_of(result, "CallHistoryChanged", shapes.CALL_HISTORY_CHANGED)
    assert our_call(history["CallHistory"]), "the ended call is not in CallHistory"

    checked(result, "DoAction Open", (200, 204))
    checked(result, "DoAction LogActivity", (200, 204))
    logged = event_of(result, "ActivityLogged", shapes.ACTIVITY_LOGGED)
    assert logged["CallId"] == f"compat-{result['app_id']}"
    alice = next(
        r
        for r in records(checked(result, "Search activities", 200, [shapes.ADDIN_COLLECTION]))
        if r["DisplayText"] == "Alice Hartley"
    )
    assert any(a["DurationSeconds"] == 42 for a in alice.get("Activities", [])), alice.get("Activities")
    checked(result, "DoAction forged", (400, 403, 404), shapes.ERROR)

    window = checked(result, "ShowWindow", 200, {"Url": str})
    assert window["Url"].startswith("http"), window
    checked(result, "ShowWindow unknown", 400, shapes.ERROR)

    new_urls = wait_until(
        lambda: recorder.urls()[opened_before:] if len(recorder.urls()) >= opened_before + 2 else None,
        timeout=10,
        what="the record and the configuration window opened in the browser",
    )
    assert window["Url"] in new_urls, (window, new_urls)

    checked(result, "Dial", (200, 204))
    dial = event_of(result, "MakeCallRequest", shapes.MAKE_CALL_REQUEST)
    assert dial["E164"] == result["dial"], (dial, result["dial"])
    assert isinstance(checked(result, "Integrations", 200), list)
    assert "openapi" in checked(result, "openapi.json", 200)

    for step in [s for s in result["steps"] if s.startswith("telephony ")]:
        error = checked(result, step, 404, shapes.ERROR)
        assert error["Code"] == "telephony_not_served", (step, error)
    assert checked(result, "unknown route", 404, shapes.ERROR)["Code"] == "not_found"


# --- the tests ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trusting_browser(playwright: Playwright, user_home: Path, https_pages: PageServer) -> Iterator[Browser]:
    """Chromium of the user whose NSS database trusts the daemon's authority, the https page on the public
    address space (so its calls to the daemon need the user's Local Network Access permission)."""
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--ip-address-space-overrides=127.0.0.1:{https_pages.port}=public"],
        env={**os.environ, "HOME": str(user_home)},
    )
    yield instance
    instance.close()


@pytest.mark.parametrize(("transport", "casing"), [("http", "camel"), ("http", "pascal"), ("https", "camel")])
def test_a_node_program_calls_every_route_and_event(
    daemon: Daemon, recorder: RecordingBrowser, transport: str, casing: str
) -> None:
    before = len(recorder.urls())
    base = https_base(daemon) if transport == "https" else http_base(daemon)
    assert_whole_api(run_node(daemon, base, casing), recorder, before)


@pytest.mark.parametrize("casing", ["camel", "pascal"])
def test_a_page_of_an_allowed_origin_calls_every_route_and_event(
    browser: Browser, daemon: Daemon, recorder: RecordingBrowser, allowed_pages: PageServer, casing: str
) -> None:
    before = len(recorder.urls())
    result = run_page(browser.new_context(), daemon, allowed_pages, http_base(daemon), casing)
    assert_whole_api(result, recorder, before)


def test_an_https_page_on_the_public_web_calls_every_route_and_event_over_https(
    trusting_browser: Browser, daemon: Daemon, recorder: RecordingBrowser, https_pages: PageServer
) -> None:
    before = len(recorder.urls())
    context = with_local_network_access(trusting_browser, https_pages.origin)
    result = run_page(context, daemon, https_pages, https_base(daemon), "pascal")
    assert_whole_api(result, recorder, before)


def test_a_page_of_another_origin_gets_nothing(browser: Browser, daemon: Daemon, foreign_pages: PageServer) -> None:
    app_id = str(uuid.uuid4())
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{foreign_pages.origin}/page.html?base={http_base(daemon)}&app={app_id}&casing=camel&name=x")
        result: dict[str, Any] = page.evaluate("window.compatResult", None)
    finally:
        context.close()
    assert result["steps"] == {}, f"a foreign page got answers: {list(result['steps'])}"
    assert result["events"] == {}
    assert any("Register" in e for e in result["errors"]) and any(e.startswith("events:") for e in result["errors"])
    listed = run_cli(daemon.home, "apps", "list")
    assert app_id not in listed.stdout, "a refused page's Register reached the daemon"
