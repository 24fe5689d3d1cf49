"""`partnercrmd.sdk.http.BookHttp` against real local servers: every way a request can fail becomes an AddinError
with its stable key and the one wording, no secret in it; answers are capped; the session is made on first use."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from partnercrmd.sdk import MASK, AddinError
from partnercrmd.sdk.http import BookHttp, HttpAnswer

TOKEN = "tok-9f3a1c77e2"
ServerFactory = Callable[..., Awaitable[TestServer]]


def crm_app(sleep_seconds: float = 5.0) -> web.Application:
    """A small CRM: each path answers one way a real server may."""

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"auth": request.headers.get("Authorization", ""), "q": request.query.get("q", "")})

    async def refused(_: web.Request) -> web.Response:
        return web.json_response({"detail": "Invalid token."}, status=401)

    async def missing(_: web.Request) -> web.Response:
        return web.json_response({"detail": "No such record"}, status=404)

    async def broken(_: web.Request) -> web.Response:
        return web.json_response({"message": f"database is locked (token {TOKEN})"}, status=500)

    async def limited(_: web.Request) -> web.Response:
        return web.json_response({"detail": "slow down"}, status=429)

    async def invalid(_: web.Request) -> web.Response:
        return web.json_response({"errors": {"name": ["required"]}}, status=400)

    async def html(_: web.Request) -> web.Response:
        return web.Response(text="<html><body>Welcome to nginx!</body></html>", content_type="text/html")

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * 20_000)

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to refuse it by
        await response.prepare(request)
        for _ in range(40):
            await response.write(b"y" * 1000)
        await response.write_eof()
        return response

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(sleep_seconds)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/refused", refused)
    app.router.add_get("/missing", missing)
    app.router.add_get("/broken", broken)
    app.router.add_get("/limited", limited)
    app.router.add_post("/invalid", invalid)
    app.router.add_get("/html", html)
    app.router.add_get("/big", big)
    app.router.add_get("/streamed", streamed)
    app.router.add_get("/slow", slow)
    return app


@pytest.fixture
async def crm(aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(crm_app())


@pytest.fixture
async def http() -> AsyncIterator[BookHttp]:
    book_http = BookHttp(
        "Demo CRM",
        timeout=2.0,
        max_body_bytes=10_000,
        headers={"Authorization": f"Bearer {TOKEN}"},
        credentials_hint="Check the setting 'token'.",
        secrets=lambda: [TOKEN],
    )
    yield book_http
    await book_http.close()


def base(server: TestServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def refusal(http: BookHttp, url: str, **options: object) -> AddinError:
    with pytest.raises(AddinError) as raised:
        await http.request("GET", url, **options)  # type: ignore[arg-type]  # the options are request's keywords
    return raised.value


def assert_no_secret(error: AddinError) -> None:
    assert TOKEN not in error.message and TOKEN not in str(error)


async def test_an_answer_comes_back_whole_with_the_book_headers_and_the_session_opened_on_first_use(
    crm: TestServer, http: BookHttp
) -> None:
    answer = await http.request("GET", f"{base(crm)}/ok", params={"q": "Dana"})
    assert isinstance(answer, HttpAnswer) and answer.ok and answer.status == 200
    assert http.json(answer) == {"auth": f"Bearer {TOKEN}", "q": "Dana"}
    await http.close()
    again = await http.request("GET", f"{base(crm)}/ok")  # a closed book's HTTP opens a new session
    assert again.status == 200


async def test_a_refused_connection_is_cannot_connect(http: BookHttp) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    expected = (
        f"Demo CRM at http://127.0.0.1:{port} cannot be reached (Connection refused); "
        "check the setting 'url' and that the server is running."
    )
    error = await refusal(http, f"http://127.0.0.1:{port}/api/{TOKEN}/contacts?key={TOKEN}")
    assert (error.code, error.message) == ("cannot_connect", expected)
    assert http.reachable is False
    with_user_info = BookHttp("Demo CRM")
    try:
        assert (await refusal(with_user_info, f"http://user:{TOKEN}@127.0.0.1:{port}/")).message == expected
    finally:
        await with_user_info.close()
    mixed = await refusal(http, f"http://user:{TOKEN}@127.0.0.1:{port}/")  # user info and an Authorization header
    assert mixed.code == "cannot_connect" and "check the setting 'url'" in mixed.message
    assert_no_secret(error)
    assert_no_secret(mixed)


async def test_a_server_that_does_not_answer_in_time_is_timeout(crm: TestServer, http: BookHttp) -> None:
    started = time.monotonic()
    error = await refusal(http, f"{base(crm)}/slow", time_limit=0.5)
    assert time.monotonic() - started < 2
    assert (error.code, error.message) == (
        "timeout",
        f"Demo CRM at {base(crm)} did not answer within 0.5 s; check that the server is running and not overloaded.",
    )
    assert http.reachable is False
    assert (await http.request("GET", f"{base(crm)}/ok")).ok and http.reachable is True


async def test_a_deadline_cuts_the_request_short_and_the_message_states_its_limit(
    crm: TestServer, http: BookHttp
) -> None:
    started = time.monotonic()
    error = await refusal(http, f"{base(crm)}/slow", time_limit=1.0, deadline=time.monotonic() + 0.3)
    assert time.monotonic() - started < 0.9
    assert error.code == "timeout" and "did not answer within 1 s" in error.message
    spent = await refusal(http, f"{base(crm)}/ok", time_limit=1.0, deadline=time.monotonic() - 1)
    assert spent.code == "timeout"


async def test_answers_over_the_size_cap_are_refused_declared_or_streamed(crm: TestServer, http: BookHttp) -> None:
    for path in ("/big", "/streamed"):
        error = await refusal(http, f"{base(crm)}{path}")
        assert (error.code, error.message) == (
            "invalid_data",
            f"Demo CRM at {base(crm)} sent more than 10000 bytes in one answer; check the setting 'url'.",
        )


async def test_http_statuses_get_their_keys_and_one_wording(crm: TestServer, http: BookHttp) -> None:
    expected = {
        "/refused": (
            "invalid_auth",
            "Demo CRM refused to list contacts (401: Invalid token.). Check the setting 'token'.",
        ),
        "/missing": ("not_found", "Demo CRM could not list contacts: not found (404: No such record)."),
        "/broken": (
            "unknown",
            f"Demo CRM answered 500 when asked to list contacts: database is locked (token {MASK}).",
        ),
        "/limited": ("unknown", "Demo CRM is limiting requests (429) and would not list contacts; try again shortly."),
    }
    for path, (code, message) in expected.items():
        answer = await http.request("GET", f"{base(crm)}{path}")
        assert not answer.ok
        error = http.failure(answer, "list contacts")
        assert (error.code, error.message) == (code, message), path
        assert_no_secret(error)
    invalid = await http.request("POST", f"{base(crm)}/invalid", json_body={"name": ""})
    assert (http.failure(invalid, "create the contact").code, http.failure(invalid, "create the contact").message) == (
        "invalid_data",
        "Demo CRM did not accept the data to create the contact (400: name: required).",
    )


async def test_what_differs_per_add_in_is_given_not_rewritten(crm: TestServer) -> None:
    http = BookHttp("the Tryton server", summarise=lambda answer: answer.text()[:12])
    try:
        answer = await http.request("GET", f"{base(crm)}/refused")
        error = http.failure(answer, "run model.party.party.search")
        assert error.message == 'The Tryton server refused to run model.party.party.search (401: {"detail": ").'
        told = http.failure(answer, "sign in", said="bad password", credentials_hint="Check 'password'.")
        assert told.message == "The Tryton server refused to sign in (401: bad password). Check 'password'."
    finally:
        await http.close()


async def test_an_answer_that_is_not_json_is_invalid_data(crm: TestServer, http: BookHttp) -> None:
    answer = await http.request("GET", f"{base(crm)}/html")
    assert answer.ok
    with pytest.raises(AddinError) as raised:
        http.json(answer)
    assert (raised.value.code, raised.value.message) == (
        "invalid_data",
        f"Demo CRM at {base(crm)} did not answer with JSON; check the setting 'url': is it the address of Demo CRM?",
    )


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA signed, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


async def test_an_untrusted_certificate_names_the_setting_that_would_trust_it(
    aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    cert_file, key_file = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    server = await aiohttp_server(crm_app(), ssl=server_context)
    url = f"https://127.0.0.1:{server.port}"
    untrusting = BookHttp("the CardDAV server", ca_setting="ca_file")
    trusting = BookHttp("the CardDAV server", ssl_context=ssl.create_default_context(cafile=str(cert_file)))
    try:
        error = await refusal(untrusting, f"{url}/ok")
        assert (error.code, error.message) == (
            "cannot_connect",
            f"The certificate of {url} is not trusted. "
            "If the server uses its own certificate, give it (or its CA) in the setting 'ca_file'.",
        )
        assert (await trusting.request("GET", f"{url}/ok")).ok
    finally:
        await untrusting.close()
        await trusting.close()
