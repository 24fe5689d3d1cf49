"""Audit items 2, 3, 8 and 12 (issue 14): whatever a client sends, it gets a 4xx with a Message, never a 500.

Every POST of the API and the configuration pages reads its body through one parser (api/body.py): size, time,
encoding, field count and JSON shape are checked there, and every text value passes one cleaning step
(input_text.py) before any add-in sees it. Signed ids refuse anything they did not issue (signing.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd import appkeys
from partnercrmd.api.body import MAX_FIELDS
from partnercrmd.api.routes import ROUTES
from partnercrmd.testing import ApiSession
from tests.ui_support import csrf_of, log_in, page_text

Client = TestClient[web.Request, web.Application]

POST_ROUTES = [route.name for route in ROUTES if route.method == "POST"]

MALFORMED_BODIES: dict[str, tuple[str, bytes]] = {
    "multipart without a boundary": ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1"),
    "invalid UTF-8 in a form body": ("application/x-www-form-urlencoded", b"Name=\xff\xfe&Id=abc&query=\xc3\x28"),
    "percent-encoded invalid UTF-8": ("application/x-www-form-urlencoded", b"Name=%ff%fe&Id=abc&query=%c3%28"),
    "JSON nested 30,000 deep": ("application/json", b"[" * 30_000 + b"]" * 30_000),
    "a JSON object nested 10,000 deep": ("application/json", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
    "JSON that is not an object": ("application/json", b'"just text"'),
    "JSON with a nested field": ("application/json", b'{"query": {"$ne": 1}, "Name": ["a"], "Id": "x"}'),
    "JSON with a lone surrogate": ("application/json", b'{"query": "\\ud800", "Name": "n", "Id": "x"}'),
    "invalid JSON": ("application/json", b'{"query": '),
    "a foreign charset": ("application/x-www-form-urlencoded; charset=utf-16", b"query=Alice"),
    "multipart with a file": (
        "multipart/form-data; boundary=XyZ",
        b'--XyZ\r\nContent-Disposition: form-data; name="query"; filename="a.txt"\r\n\r\nAlice\r\n--XyZ--\r\n',
    ),
}


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("case", sorted(MALFORMED_BODIES))
async def test_malformed_bodies_are_400_with_a_message_on_every_post_route(
    api: ApiSession, route: str, case: str
) -> None:
    content_type, body = MALFORMED_BODIES[case]
    response = await api.client.post(
        f"/api/v1/{route}", data=body, headers={**api.headers, "Content-Type": content_type}
    )
    assert response.status == 400, (route, case, await response.text())
    answer = await response.json()
    assert answer["Message"] and answer["Code"] != "internal_error"


async def test_a_well_formed_multipart_body_is_read(api: ApiSession) -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="query"\r\n\r\nAlice\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="count"\r\n\r\n2\r\n--XyZ--\r\n'
    )
    response = await api.client.post(
        "/api/v1/Search", data=body, headers={**api.headers, "Content-Type": "multipart/form-data; boundary=XyZ"}
    )
    assert response.status == 200, await response.text()
    assert any(r["DisplayText"].startswith("Alice") for c in await response.json() for r in c["Records"])


@pytest.mark.parametrize("query", ["Smi\x00th", "Smith\x1b[2J", "\x7f"])
async def test_control_characters_in_a_field_are_refused_before_any_book_sees_them(api: ApiSession, query: str) -> None:
    for body in ({"query": query}, json.dumps({"query": query})):
        if isinstance(body, str):
            response = await api.client.post(
                "/api/v1/Search", data=body, headers={**api.headers, "Content-Type": "application/json"}
            )
        else:
            response = await api.client.post("/api/v1/Search", data=body, headers=api.headers)
        assert response.status == 400, await response.text()
        answer = await response.json()
        assert answer["Code"] == "invalid_text"
        assert "query" in answer["Message"]


async def test_text_with_tabs_newlines_and_any_script_is_kept(api: ApiSession) -> None:
    answer = await api.call("POST", "Search", query="Zoë 山田\tO'Brien")
    assert [c["ExceptionText"] for c in answer] == [""] * len(answer)


async def test_a_header_that_is_not_utf8_is_refused(api: ApiSession) -> None:
    # a header byte that is not UTF-8 reaches the app as a lone surrogate (aiohttp decodes with surrogateescape)
    reader, writer = await asyncio.open_connection("127.0.0.1", api.client.port)
    writer.write(
        f"POST /api/v1/Search HTTP/1.1\r\nHost: 127.0.0.1:{api.client.port}\r\nApplicationId: {api.app_id}\r\n".encode()
        + b"UserId: mall\xffory\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + b"Content-Length: 11\r\nConnection: close\r\n\r\nquery=Alice"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert json.loads(body)["Code"] == "invalid_text"


@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("GET", "/records/%C3%A9.%C3%BC", None),
        ("GET", "/records/%E2%82%AC%E2%82%AC%E2%82%AC.abc", None),
        ("POST", "/api/v1/DoAction", {"actionId": "é.ü"}),
        ("POST", "/api/v1/SaveRecord", {"RecordId": "é.ü", "Phone": "1"}),
        ("POST", "/api/v1/SaveRecord", {"RecordId": "ÿÿÿÿ.ÿÿÿÿ", "Phone": "1"}),
    ],
)
async def test_signed_ids_with_non_ascii_characters_are_refused_not_500(
    api: ApiSession, method: str, path: str, fields: dict[str, str] | None
) -> None:
    headers = api.headers if path.startswith("/api/") else {}
    response = await api.client.request(method, path, data=fields, headers=headers)
    assert 400 <= response.status < 500, await response.text()
    assert response.status != 404 or path.startswith("/records/")
    if response.content_type == "application/json":
        assert (await response.json())["Code"] == "invalid_id"


async def test_a_form_of_many_short_fields_says_too_many_fields(api: ApiSession) -> None:
    body = "&".join(f"f{i}=x" for i in range(1000))
    assert len(body) < 8 * 1024  # a small body: the size limit is not what refuses it
    response = await api.client.post(
        "/api/v1/Search",
        data=body,
        headers={**api.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 400
    answer = await response.json()
    assert answer["Code"] == "too_many_fields"
    assert str(MAX_FIELDS) in answer["Message"]
    json_body = json.dumps({f"f{i}": "x" for i in range(1000)})
    response = await api.client.post(
        "/api/v1/Search", data=json_body, headers={**api.headers, "Content-Type": "application/json"}
    )
    assert (await response.json())["Code"] == "too_many_fields"


async def test_a_form_at_the_field_limit_is_read(api: ApiSession) -> None:
    fields = {f"f{i}": "x" for i in range(MAX_FIELDS - 1)} | {"query": "Alice"}
    assert (await api.request("POST", "Search", **fields)).status == 200


async def test_a_body_over_the_size_limit_is_413(api: ApiSession) -> None:
    response = await api.client.post("/api/v1/Search", data={"query": "A" * 70_000}, headers=api.headers)
    assert response.status == 413
    assert (await response.json())["Code"] == "payload_too_large"


async def test_a_body_that_trickles_in_is_cut_off(api: ApiSession) -> None:
    api.client.app[appkeys.CONFIG].body_read_timeout = 0.5

    async def trickle() -> AsyncIterator[bytes]:
        yield b"query="
        await asyncio.sleep(2)
        yield b"Alice"

    response = await api.client.post(
        "/api/v1/Search",
        data=trickle(),
        headers={**api.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 408
    assert (await response.json())["Code"] == "request_timeout"


async def test_the_configuration_pages_read_forms_through_the_same_parser(api: ApiSession) -> None:
    await log_in(api.client)
    token = csrf_of(await page_text(api.client, "/ui/integrations"))
    for body in (f"csrf={token}&name=\xff\xfe".encode("latin-1"), f"csrf={token}&name=Bad%00Name".encode()):
        response = await api.client.post(
            "/ui/integrations/local/add",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        )
        assert response.status == 400, await response.text()
    books = await api.call("GET", "AddressBooks")
    assert len(books) == 1  # nothing was added


async def test_openapi_servers_name_the_port_that_answered(partnercrmd_client: Client) -> None:
    document = await (await partnercrmd_client.get("/api/v1/openapi.json")).json()
    assert document["servers"] == [{"url": f"http://127.0.0.1:{partnercrmd_client.port}"}]
    assert partnercrmd_client.port != 10088


async def test_register_with_bad_text_is_refused_and_records_nothing(partnercrmd_client: Client) -> None:
    app_id = str(uuid.uuid4())
    response = await partnercrmd_client.post("/api/v1/Register", data={"Name": "Evil\x00", "Id": app_id})
    assert response.status == 400
    assert app_id not in partnercrmd_client.app[appkeys.APPS].apps
