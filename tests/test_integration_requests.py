"""Request a new integration: a short form, kept on this computer until sent where the partner's branding says
(JSON to its endpoint, or a mailto: link), listed on the About page with its state."""

from __future__ import annotations

import asyncio
import html as html_lib
import json
import re
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from partnercrmd import appkeys, integration_request_sending
from partnercrmd.app import create_app
from partnercrmd.branding import BrandingError, load_branding_file
from partnercrmd.integration_requests import FILE_NAME, RequestStore, failed_changes, new_request
from partnercrmd.testing import write_branding
from tests.ui_support import Client, log_in, page_text, post_form

FORM = "/ui/requests/new"
REQUEST = {
    "system": "Acme Desk",
    "web_address": "https://desk.acme.example",
    "lookup": "Show the caller's customer and open tickets;\r\nlog each call on the customer.",
    "contact_email": "pat@example.com",
}

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def brand(client: Client, tmp_path: Path, requests_table: str = "") -> None:
    """Brand the running daemon as Acme Connect, with `[integration_requests]` as given."""
    path = write_branding(tmp_path)
    if requests_table:
        path.write_text(path.read_text(encoding="utf-8") + "[integration_requests]\n" + requests_table, "utf-8")
    client.app[appkeys.CONFIG].branding = load_branding_file(path)


def kept(client: Client) -> list[dict[str, Any]]:
    """The requests file as stored on disk."""
    path = client.app[appkeys.CONFIG].paths.data_dir / FILE_NAME
    return list(json.loads(path.read_text(encoding="utf-8"))["requests"]) if path.exists() else []


def request_row(about: str, request_id: str) -> str:
    match = re.search(rf'<tr data-request="{request_id}".*?</tr>', about, re.DOTALL)
    assert match, f"request {request_id} is not listed"
    return html_lib.unescape(match.group(0))


async def submit(client: Client, fields: dict[str, str] = REQUEST) -> Any:
    return await post_form(client, FORM, fields, page=FORM)


async def made_id(client: Client, response: Any) -> str:
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    assert location.startswith("/ui/about?request=") and location.endswith("#requests")
    return str(parse_qs(urlsplit(location).query)["request"][0])


class Receiver:
    """The partner's endpoint: a real HTTP server on 127.0.0.1 that records each JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 201

    async def handle(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/json"
        self.bodies.append(await request.json())
        return web.json_response({"ok": self.status < 300}, status=self.status)


@pytest.fixture(autouse=True)
def no_retry_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's own retry waits beyond each test (the test of it shortens the wait), so tries are the test's."""
    monkeypatch.setattr(integration_request_sending, "RETRY_DELAY", 3600.0)


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> tuple[Receiver, str]:
    endpoint = Receiver()
    app = web.Application()
    app.router.add_post("/integration-requests", endpoint.handle)
    server = await aiohttp_server(app)
    return endpoint, f"http://127.0.0.1:{server.port}/integration-requests"


async def test_without_a_destination_the_request_is_kept_listed_with_a_note_and_can_be_marked_sent(
    partnercrmd_client: Client,
) -> None:
    await log_in(partnercrmd_client, "about")
    about = await page_text(partnercrmd_client, "/ui/about")
    assert f'href="{FORM}" id="request-integration">Request a new integration</a>' in about
    form = await page_text(partnercrmd_client, FORM)
    assert "it is kept on this computer and listed on the About page" in html_lib.unescape(form)
    request_id = await made_id(partnercrmd_client, await submit(partnercrmd_client))
    (stored,) = kept(partnercrmd_client)
    assert stored["id"] == request_id and stored["state"] == "kept"
    assert stored["system"] == "Acme Desk" and stored["contact_email"] == "pat@example.com"
    assert stored["lookup"] == "Show the caller's customer and open tickets;\nlog each call on the customer."
    about = await page_text(partnercrmd_client, f"/ui/about?request={request_id}")
    assert 'id="requests-note"' in about and "kept on this computer" in html_lib.unescape(about)
    row = request_row(about, request_id)
    assert "Acme Desk" in row and "https://desk.acme.example" in row and "Kept on this computer" in row
    marked = await post_form(partnercrmd_client, f"/ui/requests/{request_id}/sent", {}, page="/ui/about")
    assert marked.status == 303
    row = request_row(await page_text(partnercrmd_client, "/ui/about"), request_id)
    assert 'data-state="sent"' in row and "Mark as sent" not in row
    assert kept(partnercrmd_client)[0]["state"] == "sent"


async def test_a_wrong_form_keeps_what_was_typed_with_errors_beside_fields_and_keeps_nothing(
    partnercrmd_client: Client,
) -> None:
    await log_in(partnercrmd_client)
    wrong = {"system": "", "web_address": "not an address", "lookup": "", "contact_email": "pat at example"}
    response = await submit(partnercrmd_client, wrong)
    assert response.status == 400
    page = html_lib.unescape(await response.text())
    for name in ("system", "web_address", "lookup", "contact_email"):
        assert f'<p id="request-{name}-error" class="error">' in page, name
    assert 'value="not an address"' in page and 'value="pat at example"' in page
    assert kept(partnercrmd_client) == []


async def test_a_request_is_posted_as_json_to_the_partners_endpoint(
    partnercrmd_client: Client, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    endpoint, url = receiver
    brand(partnercrmd_client, tmp_path, f'url = "{url}"\n')
    await log_in(partnercrmd_client)
    assert ">Send</button>" in await page_text(partnercrmd_client, FORM)
    request_id = await made_id(partnercrmd_client, await submit(partnercrmd_client))
    (body,) = endpoint.bodies
    assert body == {
        "id": request_id,
        "created": body["created"],
        "system": "Acme Desk",
        "web_address": "https://desk.acme.example",
        "lookup": "Show the caller's customer and open tickets;\nlog each call on the customer.",
        "contact_email": "pat@example.com",
        "product": "Acme Connect",
        "version": body["version"],
    }
    row = request_row(await page_text(partnercrmd_client, "/ui/about"), request_id)
    assert 'data-state="sent"' in row and "Retry" not in row
    assert kept(partnercrmd_client)[0]["state"] == "sent"


async def test_a_request_the_endpoint_refuses_is_kept_as_failed_and_retried(
    partnercrmd_client: Client, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    endpoint, url = receiver
    brand(partnercrmd_client, tmp_path, f'url = "{url}"\n')
    endpoint.status = 503
    await log_in(partnercrmd_client)
    request_id = await made_id(partnercrmd_client, await submit(partnercrmd_client))
    row = request_row(await page_text(partnercrmd_client, "/ui/about"), request_id)
    assert 'data-state="failed"' in row and "Acme Telecom answered HTTP 503." in row
    assert f'action="/ui/requests/{request_id}/retry"' in row
    assert kept(partnercrmd_client)[0]["state"] == "failed"
    endpoint.status = 200
    retried = await post_form(partnercrmd_client, f"/ui/requests/{request_id}/retry", {}, page="/ui/about")
    assert retried.status == 303
    row = request_row(await page_text(partnercrmd_client, "/ui/about"), request_id)
    assert 'data-state="sent"' in row and "Retry" not in row
    assert [b["id"] for b in endpoint.bodies] == [request_id, request_id]  # the same request, tried twice
    assert kept(partnercrmd_client)[0]["attempts"] == 2


async def test_an_unreachable_endpoint_fails_and_the_request_stays_kept(
    partnercrmd_client: Client, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    brand(partnercrmd_client, tmp_path, f'url = "http://127.0.0.1:{port}/requests"\n')
    await log_in(partnercrmd_client)
    request_id = await made_id(partnercrmd_client, await submit(partnercrmd_client))
    row = request_row(await page_text(partnercrmd_client, "/ui/about"), request_id)
    assert 'data-state="failed"' in row and "Acme Telecom could not be reached" in row
    (stored,) = kept(partnercrmd_client)
    assert stored["state"] == "failed" and stored["system"] == "Acme Desk"


async def test_a_mailto_destination_offers_the_email_with_the_fields_filled_in(
    partnercrmd_client: Client, tmp_path: Path
) -> None:
    brand(partnercrmd_client, tmp_path, 'mailto = "integrations@acme.example"\n')
    await log_in(partnercrmd_client)
    assert ">Write the e-mail</button>" in await page_text(partnercrmd_client, FORM)
    request_id = await made_id(partnercrmd_client, await submit(partnercrmd_client))
    row = request_row(await page_text(partnercrmd_client, "/ui/about"), request_id)
    assert 'data-state="waiting"' in row and "Waiting to be sent" in row
    link = re.search(r'href="(mailto:[^"]+)"', row)
    assert link, row
    parts = urlsplit(link.group(1))
    assert parts.path == "integrations@acme.example"
    query = {k: unquote(v) for k, v in (p.split("=", 1) for p in parts.query.split("&"))}
    assert query["subject"] == "Integration request: Acme Desk"
    assert "System: Acme Desk\r\n" in query["body"] and "Contact e-mail: pat@example.com" in query["body"]
    assert "What to look up and log: Show the caller's customer and open tickets;\r\nlog each call" in query["body"]
    marked = await post_form(partnercrmd_client, f"/ui/requests/{request_id}/sent", {}, page="/ui/about")
    assert marked.status == 303 and kept(partnercrmd_client)[0]["state"] == "sent"


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ('url = "http://requests.acme.example/new"\n', "must be an https:// address"),
        ('url = "https://user:pw@acme.example/new"\n', "without credentials"),
        ('url = "https://acme.example/new"\nmailto = "a@acme.example"\n', "not both"),
        ('mailto = "not an address"\n', "mailto must be an e-mail address"),
        ('endpoint = "https://acme.example/new"\n', "unknown keys: endpoint"),
    ],
)
def test_the_branding_file_refuses_a_destination_that_cannot_work(tmp_path: Path, table: str, complaint: str) -> None:
    path = write_branding(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "[integration_requests]\n" + table, "utf-8")
    with pytest.raises(BrandingError, match=re.escape(complaint)):
        load_branding_file(path)


async def test_the_request_forms_need_the_session_and_its_token(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    request_id = await made_id(partnercrmd_client, await submit(partnercrmd_client))
    for path in (FORM, f"/ui/requests/{request_id}/retry", f"/ui/requests/{request_id}/sent"):
        for token in ({}, {"csrf": "not-the-token"}):
            response = await partnercrmd_client.post(path, data={**REQUEST, **token}, allow_redirects=False)
            assert response.status == 403, path
    partnercrmd_client.session.cookie_jar.clear()
    assert (await partnercrmd_client.get(FORM)).status == 403
    assert [r["state"] for r in kept(partnercrmd_client)] == ["kept"]


async def test_a_request_kept_while_the_endpoint_was_down_is_sent_on_its_own_later(
    partnercrmd_config: Any,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    tmp_path: Path,
    receiver: tuple[Receiver, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, url = receiver
    path = write_branding(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + f'[integration_requests]\nurl = "{url}"\n', "utf-8")
    partnercrmd_config.branding = load_branding_file(path)
    # Made at an earlier run, while the endpoint could not be reached.
    store = RequestStore.in_dir(partnercrmd_config.paths.data_dir)
    entry = new_request("Acme Desk", "", "callers", "pat@example.com", partnercrmd_config.branding.integration_requests)
    store.add(entry)
    store.update(entry.id, **failed_changes(entry, "Acme Telecom could not be reached (ClientConnectorError)."))
    monkeypatch.setattr(integration_request_sending, "RETRY_DELAY", 0.05)
    await aiohttp_client(create_app(partnercrmd_config))  # the daemon starts again
    for _ in range(200):
        if endpoint.bodies:
            break
        await asyncio.sleep(0.05)
    assert [body["id"] for body in endpoint.bodies] == [entry.id]
    for _ in range(100):
        stored = await asyncio.to_thread(store.get, entry.id)
        if stored is not None and stored.state == "sent":
            break
        await asyncio.sleep(0.05)
    assert stored is not None and stored.state == "sent" and stored.attempts == 2
