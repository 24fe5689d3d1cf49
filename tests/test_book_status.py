"""A book's status is what it was last found to be (issue #17 item 2): Test's verdict and searches the server refused
move it, everywhere it is shown (the Integrations list, the book's page, `AddressBooks`), with an
`AddressBooksChanged` event; a later answer moves it back to Ready; the verdict survives a restart.

The add-in below is real (registered through the add-in hook like any other); what its server answers is
switched by the test through `SERVER`.
"""

from __future__ import annotations

import asyncio
import html
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import aiohttp
import pytest
from aiohttp.pytest_plugin import AiohttpClient

from partnercrmd import appkeys, hookimpl
from partnercrmd.app import create_app
from partnercrmd.config import DaemonConfig
from partnercrmd.errors import SIGN_IN_REQUIRED, AddinError
from partnercrmd.integration import BookContext, Capability, ConfigField, Connector, FieldKind, Integration
from partnercrmd.model import CheckResult, Contact, Phone, SearchQuery
from partnercrmd.testing import ApiSession, by_book, configure_book, next_event, run_cli
from partnercrmd.ui import integrations as integrations_page
from tests.ui_support import Client, log_in, page_text, post_form

NUMBER = "020 7946 0123"
SERVER: dict[str, Any] = {}
"""What the add-in's server does now: 'refuse' (an error key searches fail with) and 'test' (Test's answer)."""
PASSING = [CheckResult("Sign in", True, "Signed in as alex."), CheckResult("Search", True, "Found 1 contact.")]
WRONG_PASSWORD = [
    CheckResult("Sign in", False, "The server refused the password for alex.", "invalid_auth"),
]


class SwitchableConnector(Connector):
    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        if SERVER.get("refuse"):
            raise AddinError(f"Refused: {SERVER['refuse']}.", code=SERVER["refuse"])
        return [Contact(id="pat", display_name="Pat Doe", phones=[Phone(NUMBER)])]

    async def test(self) -> Sequence[CheckResult]:
        if SERVER.get("hang"):
            await asyncio.sleep(3600)
        return list(SERVER.get("test", PASSING))


def _open(context: BookContext) -> Connector:
    return SwitchableConnector()


SWITCHABLE = Integration(
    id="switchable",
    name="Switchable CRM",
    version="1.0",
    open=_open,
    capabilities=frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME}),
    config=(ConfigField("url", "Server address", FieldKind.URL),),
)


class SwitchableAddin:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        return [SWITCHABLE]


@pytest.fixture(autouse=True)
def server() -> Iterator[dict[str, Any]]:
    SERVER.clear()
    yield SERVER
    SERVER.clear()


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("switchable", SwitchableAddin())]


@pytest.fixture
async def events(api: ApiSession) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        yield ws


async def status_of(api: ApiSession, book_id: str) -> tuple[str, str]:
    book = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    return book["Status"], book["StatusReason"]


async def listed_state(client: Client, book_id: str) -> str:
    """The Status cell of the book's row on the Integrations page, as text."""
    page = html.unescape(await page_text(client, "/ui/integrations"))
    row = re.search(rf'<tr data-book="{book_id}">(.*?)</tr>', page, re.S)
    assert row, page
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return re.sub(r"<[^>]+>", " ", cells[3]).split("  ")[0].strip() + " | " + re.sub(r"<[^>]+>", " ", cells[3])


async def run_test_page(client: Client, book_id: str) -> str:
    response = await post_form(client, f"/ui/books/{book_id}/test", {})
    assert response.status == 200
    return html.unescape(await response.text())


async def test_a_failed_test_makes_the_book_need_attention_everywhere_and_a_passing_one_ready(
    partnercrmd_client: Client, api: ApiSession, events: aiohttp.ClientWebSocketResponse
) -> None:
    book_id = await configure_book(partnercrmd_client.app, "switchable", name="Sales CRM")
    await next_event(events, "AddressBooksChanged")  # the book was added
    await log_in(partnercrmd_client)
    assert await status_of(api, book_id) == ("Ready", "")

    SERVER["test"] = WRONG_PASSWORD
    page = await run_test_page(partnercrmd_client, book_id)
    assert "A check failed" in page and "Check the user name and password" in page
    assert "Status of Sales CRM: Needs attention: The server refused the password for alex." in page
    await next_event(events, "AddressBooksChanged", timeout=5)
    assert await status_of(api, book_id) == ("NeedsAttention", "The server refused the password for alex.")
    listed = await listed_state(partnercrmd_client, book_id)
    assert listed.startswith("Needs attention") and "The server refused the password" in listed, listed
    book_page = html.unescape(await page_text(partnercrmd_client, f"/ui/books/{book_id}"))
    assert "Status: Needs attention: The server refused the password for alex." in book_page

    SERVER["test"] = PASSING
    page = await run_test_page(partnercrmd_client, book_id)
    assert "Every check passed." in page and "Status of Sales CRM: Ready" in page
    await next_event(events, "AddressBooksChanged", timeout=5)
    assert await status_of(api, book_id) == ("Ready", "")
    assert (await listed_state(partnercrmd_client, book_id)).startswith("Ready")


async def test_searches_the_server_refuses_move_the_status_and_an_answer_moves_it_back(
    partnercrmd_client: Client, api: ApiSession, events: aiohttp.ClientWebSocketResponse
) -> None:
    book_id = await configure_book(partnercrmd_client.app, "switchable", name="Sales CRM")
    await next_event(events, "AddressBooksChanged")
    await log_in(partnercrmd_client)

    SERVER["refuse"] = "invalid_auth"
    found = by_book(await api.call("POST", "Search", query=NUMBER))
    assert found[book_id]["ExceptionText"] == "Refused: invalid_auth."
    await next_event(events, "AddressBooksChanged", timeout=5)
    assert await status_of(api, book_id) == ("NeedsAttention", "Refused: invalid_auth.")

    SERVER["refuse"] = SIGN_IN_REQUIRED
    await api.call("POST", "Search", query=NUMBER)
    await next_event(events, "AddressBooksChanged", timeout=5)
    assert await status_of(api, book_id) == ("SignInAgain", "Refused: sign_in_required.")
    assert (await listed_state(partnercrmd_client, book_id)).startswith("Sign in again")

    SERVER["refuse"] = "cannot_connect"  # a passing outage says nothing about the book: the status stays
    await api.call("POST", "Search", query=NUMBER)
    assert await status_of(api, book_id) == ("SignInAgain", "Refused: sign_in_required.")

    SERVER.pop("refuse")
    found = by_book(await api.call("POST", "Search", query=NUMBER))
    assert [r["DisplayText"] for r in found[book_id]["Records"]] == ["Pat Doe"]
    await next_event(events, "AddressBooksChanged", timeout=5)
    assert await status_of(api, book_id) == ("Ready", "")
    assert (await listed_state(partnercrmd_client, book_id)).startswith("Ready")


async def test_a_disabled_book_is_disabled_whatever_test_found(partnercrmd_client: Client, api: ApiSession) -> None:
    book_id = await configure_book(partnercrmd_client.app, "switchable", name="Sales CRM")
    await log_in(partnercrmd_client)
    SERVER["test"] = WRONG_PASSWORD
    await run_test_page(partnercrmd_client, book_id)
    await post_form(partnercrmd_client, f"/ui/books/{book_id}/enabled", {"enabled": "0"})
    assert await status_of(api, book_id) == ("Disabled", "")
    assert (await listed_state(partnercrmd_client, book_id)).startswith("Disabled")
    page = await run_test_page(partnercrmd_client, book_id)
    assert "This address book is disabled." in page and "Status of Sales CRM: Disabled" in page


async def test_the_verdict_survives_a_restart_and_changed_settings_clear_it(
    aiohttp_client: AiohttpClient, partnercrmd_config: DaemonConfig
) -> None:
    async def start() -> Client:
        client = await aiohttp_client(create_app(partnercrmd_config))
        client.app[appkeys.CONFIG].port = client.port or 0  # the login links point at this server
        return client

    first = await start()
    book_id = await configure_book(first.app, "switchable", name="Sales CRM")
    await log_in(first)
    SERVER["test"] = WRONG_PASSWORD
    await run_test_page(first, book_id)
    assert first.app[appkeys.BOOKS].get(book_id).status == "NeedsAttention"
    await first.close()

    second = await start()
    book = second.app[appkeys.BOOKS].get(book_id)
    assert (book.status, book.status_reason) == ("NeedsAttention", "The server refused the password for alex.")
    await log_in(second)
    await post_form(
        second, f"/ui/books/{book_id}", {"o.name": "Sales CRM", "o.enabled": "1", "s.url": "https://crm2.example/"}
    )
    assert second.app[appkeys.BOOKS].get(book_id).status == "Ready"  # Test said nothing about the new settings


async def test_the_test_page_shows_its_first_steps_at_once_and_stops_at_its_limit(
    partnercrmd_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP: the page arrives in parts; the steps before the hanging one come before the limit."""
    monkeypatch.setattr(integrations_page, "TEST_TIME_LIMIT", 3.0)
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accepted, never answered

    listener = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    book_id = await configure_book(partnercrmd_client.app, "switchable", name="Slow", url=f"http://127.0.0.1:{port}/")
    await log_in(partnercrmd_client)
    SERVER["hang"] = True
    started = time.monotonic()
    form = await post_form(partnercrmd_client, f"/ui/books/{book_id}/test", {}, page=f"/ui/books/{book_id}")
    async with form:
        first_parts = ""
        while "Asking the server" not in first_parts:
            first_parts += (await form.content.readany()).decode()
        assert time.monotonic() - started < 1.0
        assert "stops after 3 seconds" in first_parts
        assert f"127.0.0.1:{port} accepted the connection." in first_parts and "test-summary" not in first_parts
        rest = html.unescape((await form.content.read()).decode())
    assert 3.0 <= time.monotonic() - started < 5.0
    assert f"did not answer within the test's limit of 3 s (127.0.0.1:{port} accepted the connection" in rest
    assert "A check failed" in rest and "Status of Slow: Needs attention" in rest
    for writer in held:
        writer.close()
    listener.close()
    await listener.wait_closed()


async def test_books_list_shows_what_the_daemon_found(
    partnercrmd_client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """`partnercrmd books list` (its own process's add-ins: an installed integration, CardDAV) shows the verdict."""
    refused = socket.create_server(("127.0.0.1", 0))
    port = refused.getsockname()[1]
    refused.close()  # nothing listens there now: the connection is refused
    book_id = await configure_book(
        partnercrmd_client.app, "carddav", name="Team CardDAV", url=f"http://127.0.0.1:{port}/dav/"
    )
    await log_in(partnercrmd_client)
    await run_test_page(partnercrmd_client, book_id)
    capsys.readouterr()
    assert await asyncio.to_thread(run_cli, ["books", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(rf"{book_id}\s+Team CardDAV\s+carddav\s+needs attention", listed), listed
    assert f"{book_id} is needs attention: 127.0.0.1:{port} refused the connection: nothing listens there." in listed
