"""The same add-in against a second CardDAV server, xandikos, through the daemon's HTTP API.

xandikos offers HTTP Basic sign-in only behind HTTPS with its self-signed
certificate: the behaviour suite every real CardDAV server runs (carddav_suite.py)
runs against an instance with both, trusted through the add-in's `ca_file` setting;
another instance serves without sign-in. Address books live under xandikos' home
collection /user/contacts/, calendars under /user/calendars/.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from carddav_seed import seed_book
from carddav_servers import XandikosServer
from carddav_suite import CardDavServerSuite, SuiteServer
from partnercrmd_carddav.connector import open_book

from partnercrmd.sdk import BookContext
from partnercrmd.testing import ApiSession, configure_book, names, search


@pytest.fixture(scope="module")
def xandikos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XandikosServer]:
    server = XandikosServer(tmp_path_factory.mktemp("xandikos")).start()
    try:
        yield server
    finally:
        server.stop()


async def test_an_address_book_without_sign_in_is_read(
    api: ApiSession, partnercrmd_app: web.Application, xandikos: XandikosServer, tmp_path: Path
) -> None:
    path = seed_book(xandikos.raw(), f"/user/contacts/{uuid.uuid4().hex}/")
    book_id = await configure_book(partnercrmd_app, "carddav", url=xandikos.url + path)
    for query in ("+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958"):
        assert names((await search(api, query))[book_id]) == ["Dana Whitfield"], query
    assert names((await search(api, "zoë"))[book_id]) == ["Zoë Lefèvre"]
    connector = open_book(BookContext("x", "X", {"url": xandikos.url + path}, tmp_path, "GB"))
    try:
        results = {r.check: (r.ok, r.message) for r in await connector.test()}
    finally:
        await connector.close()
    assert results["authenticate"] == (True, "The server lets this address book be read without signing in.")
    assert all(ok for ok, _ in results.values()), results


# --- HTTPS with a self-signed certificate, and sign-in -----------------------------------------------


@pytest.fixture(scope="module")
def secure_xandikos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XandikosServer]:
    server = XandikosServer(tmp_path_factory.mktemp("xandikos-https"), secure=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def suite_server(secure_xandikos: XandikosServer) -> SuiteServer:
    """The behaviour suite runs against xandikos with sign-in, over HTTPS trusted through `ca_file`."""
    return SuiteServer(
        name="xandikos",
        url=secure_xandikos.url,
        username=XandikosServer.USER,
        password=XandikosServer.PASSWORD,
        raw=secure_xandikos.raw(),
        book_home="/user/contacts/",
        calendar_home="/user/calendars/",
        stop_serving=secure_xandikos.stop,
        serve_again=secure_xandikos.start,
        settings={"ca_file": str(secure_xandikos.certificate)},
    )


class TestXandikos(CardDavServerSuite):
    """The behaviour suite against xandikos."""


async def test_a_self_signed_server_is_trusted_only_through_ca_file(
    api: ApiSession, partnercrmd_app: web.Application, secure_xandikos: XandikosServer
) -> None:
    path = seed_book(secure_xandikos.raw(), f"/user/contacts/{uuid.uuid4().hex}/")
    signed_in = {"url": secure_xandikos.url + path, "username": "dave", "password": XandikosServer.PASSWORD}
    untrusted = await configure_book(partnercrmd_app, "carddav", name="Untrusted", **signed_in)
    trusted = await configure_book(
        partnercrmd_app, "carddav", name="Trusted", ca_file=str(secure_xandikos.certificate), **signed_in
    )
    wrong = await configure_book(
        partnercrmd_app,
        "carddav",
        name="Wrong password",
        ca_file=str(secure_xandikos.certificate),
        **{**signed_in, "password": "not-daves-password"},
    )
    books = {c["AddinId"]: c for c in await api.call("POST", "Search", query="020 7946 0958")}
    assert names(books[trusted]) == ["Dana Whitfield"] and books[trusted]["ExceptionText"] == ""
    assert books[untrusted]["ExceptionText"] == (
        f"The certificate of {secure_xandikos.url} is not trusted. If the server uses its own certificate, "
        "give it (or its CA) in the setting 'ca_file'."
    )
    assert "refused the user name 'dave' or its password (HTTP 401)" in books[wrong]["ExceptionText"]
    assert "not-daves-password" not in books[wrong]["ExceptionText"]
