"""Every /api/v1 route through real HTTP: happy paths and bad input, and the OpenAPI document kept true."""

from __future__ import annotations

from typing import Any

import jsonschema
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from partnercrmd.api.routes import ROUTES, TELEPHONY_ROUTES
from partnercrmd.testing import ApiSession, RecordingOpener

Client = TestClient[web.Request, web.Application]


async def openapi(client: Client) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document: dict[str, Any] = await response.json()
    return document


def assert_matches(document: dict[str, Any], schema_name: str, value: Any, *, array: bool = False) -> None:
    schema: dict[str, Any] = {"$ref": f"#/components/schemas/{schema_name}"}
    if array:
        schema = {"type": "array", "items": schema}
    jsonschema.validate(value, {**schema, "components": document["components"]})


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert body["Message"] and body["Code"]
    return body


def record_action(record: dict[str, Any], kind: str) -> str:
    return next(str(a["ActionId"]) for a in record["Actions"] if a["SpecialKind"] == kind)


async def find_one(api: ApiSession, query: str) -> dict[str, Any]:
    collections = await api.call("POST", "Search", query=query)
    records: list[dict[str, Any]] = collections[0]["Records"]
    assert len(records) == 1, records
    return records[0]


async def test_version(partnercrmd_client: Client) -> None:
    body = await (await partnercrmd_client.get("/api/v1/Version")).json()
    assert_matches(await openapi(partnercrmd_client), "Version", body)
    assert body["ProductName"] == "partnercrmd"


async def test_ping_echoes_id_and_needs_it(api: ApiSession) -> None:
    assert await api.call("POST", "Ping", Id="abc") == {"Id": "abc"}
    await error_of(await api.request("POST", "Ping"), 400)


async def test_fields_are_matched_case_insensitively_and_json_is_accepted(api: ApiSession) -> None:
    form = await api.call("POST", "Search", Query="Alice")
    response = await api.client.post("/api/v1/Search", json={"QUERY": "alice", "Count": 1}, headers=api.headers)
    assert response.status == 200
    assert await response.json() == form


async def test_search_by_every_written_form_of_a_uk_number(api: ApiSession) -> None:
    for query in ("02079460958", "+442079460958", "0044 20 7946 0958", "+44 (0)20 7946-0958", "tel:+44-20-7946-0958"):
        record = await find_one(api, query)
        assert record["DisplayText"] == "Alice Hartley", query


async def test_search_result_shape_matches_the_openapi_document(api: ApiSession) -> None:
    collections = await api.call("POST", "Search", query="Huffman", includeActivities="true")
    assert_matches(await openapi(api.client), "AddinCollection", collections, array=True)
    record = collections[0]["Records"][0]
    fields = {f["WellKnownName"]: f["Value"] for f in record["Fields"]}
    assert fields["ContactName"] == "Chris Huffman"
    assert fields["BusinessPhone"] == "571-441-5956"
    assert record["Activities"] == []
    assert {a["SpecialKind"] for a in record["Actions"]} == {"Open", "OpenInEditMode", "LogActivity", "ShowActivities"}


async def test_search_pages_with_count_and_offset(api: ApiSession) -> None:
    everyone = (await api.call("POST", "Search", query="e", count=100))[0]["Records"]
    assert len(everyone) >= 4
    page = (await api.call("POST", "Search", query="e", count=2, offset=1))[0]["Records"]
    assert [r["DisplayText"] for r in page] == [r["DisplayText"] for r in everyone[1:3]]


async def test_search_bad_input(api: ApiSession) -> None:
    await error_of(await api.request("POST", "Search"), 400)
    await error_of(await api.request("POST", "Search", query="   "), 400)
    await error_of(await api.request("POST", "Search", query="x", count="many"), 400)
    await error_of(await api.request("POST", "Search", query="x", count=0), 400)
    await error_of(await api.request("POST", "Search", query="x", includePictures="perhaps"), 400)
    body = await error_of(await api.request("POST", "Search", query="x" * 257), 400)
    assert "256" in body["Message"]
    response = await api.client.post(
        "/api/v1/Search", data="[1]", headers={**api.headers, "Content-Type": "application/json"}
    )
    await error_of(response, 400)
    response = await api.client.post("/api/v1/Search", data="q", headers={**api.headers, "Content-Type": "text/plain"})
    await error_of(response, 400)


async def test_oversized_body_is_refused(api: ApiSession) -> None:
    response = await api.client.post("/api/v1/Search", data={"query": "x", "pad": "y" * 70_000}, headers=api.headers)
    body = await error_of(response, 413)
    assert body["Code"] == "payload_too_large"


async def test_address_books_and_record_types(api: ApiSession) -> None:
    document = await openapi(api.client)
    books = await api.call("GET", "AddressBooks")
    assert_matches(document, "AddressBook", books, array=True)
    assert [(b["AddinId"], b["Enabled"], b["Status"]) for b in books] == [("local", True, "Ready")]
    types = await api.call("GET", "RecordTypes")
    assert_matches(document, "RecordType", types, array=True)
    assert [(t["RecordTypeId"], t["CanCreate"]) for t in types] == [("local/Contact", True)]


async def test_create_then_find_then_save(api: ApiSession) -> None:
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId="local/Contact",
        FirstName="Dana",
        LastName="Scully",
        Phone="+1 202 555 0143",
    )
    assert created["DisplayText"] == "Dana Scully"
    found = await find_one(api, "(202) 555-0143")
    assert found["UniqueId"] == created["UniqueId"]
    saved = await api.call(
        "POST", "SaveRecord", RecordId=created["UniqueId"], CompanyName="FBI", Email="dana@example.org"
    )
    fields = {f["WellKnownName"]: f["Value"] for f in saved["Fields"]}
    assert (fields["CompanyName"], fields["Email"], fields["BusinessPhone"]) == (
        "FBI",
        "dana@example.org",
        "+1 202 555 0143",
    )
    assert (await find_one(api, "scully fbi"))["UniqueId"] == created["UniqueId"]


async def test_create_and_save_bad_input(api: ApiSession) -> None:
    await error_of(await api.request("POST", "CreateNewRecord", FirstName="x"), 400)
    await error_of(await api.request("POST", "CreateNewRecord", RecordTypeId="nobook/Contact", FirstName="x"), 404)
    await error_of(await api.request("POST", "CreateNewRecord", RecordTypeId="local/Lead", FirstName="x"), 404)
    record = await find_one(api, "Alice")
    await error_of(await api.request("POST", "SaveRecord", RecordId=record["UniqueId"]), 400)
    forged = record["UniqueId"][:-2] + ("AA" if not record["UniqueId"].endswith("AA") else "BB")
    body = await error_of(await api.request("POST", "SaveRecord", RecordId=forged, Notes="x"), 400)
    assert body["Code"] == "invalid_id"


async def test_open_and_edit_actions_open_the_record_page(api: ApiSession, partnercrmd_opener: RecordingOpener) -> None:
    record = await find_one(api, "Alice")
    assert await api.call("POST", "DoAction", actionId=record_action(record, "Open")) is None
    assert await api.call("POST", "DoAction", actionId=record_action(record, "OpenInEditMode")) is None
    view_url, edit_url = partnercrmd_opener.urls
    port = api.client.port
    assert view_url.startswith(f"http://127.0.0.1:{port}/records/")
    page = await api.client.get(view_url.split(str(port), 1)[1])
    assert page.status == 200
    html = await page.text()
    assert "Alice Hartley" in html and "+44 20 7946 0958" in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    edit = await (await api.client.get(edit_url.split(str(port), 1)[1])).text()
    assert 'name="csrf"' in edit


async def test_log_activity_action_writes_history(api: ApiSession) -> None:
    record = await find_one(api, "Huffman")
    await api.call(
        "POST",
        "DoAction",
        actionId=record_action(record, "LogActivity"),
        CallId="call-1",
        Direction="Inbound",
        CallerNumber="571-441-5956",
        CallerName="Chris Huffman",
        CalledNumber="858-283-4891",
        CalledName="Seb Test",
        StartTimeUtc="2026-11-25T14:03:00Z",
        DurationSeconds=95,
        Notes="Wants a quote",
    )
    collections = await api.call("POST", "Search", query="571 441 5956", includeActivities="true")
    (activity,) = collections[0]["Records"][0]["Activities"]
    assert activity["Subject"] == "Incoming call: 571-441-5956 [Chris Huffman] -> 858-283-4891 [Seb Test]"
    assert activity["StartTimeUtc"] == "2026-11-25T14:03:00Z"
    assert activity["DurationSeconds"] == 95
    assert "Duration: 1:35" in activity["Body"] and "Wants a quote" in activity["Body"]


async def test_do_action_bad_input(api: ApiSession) -> None:
    record = await find_one(api, "Huffman")
    await error_of(await api.request("POST", "DoAction"), 400)
    await error_of(await api.request("POST", "DoAction", actionId="not-an-id"), 400)
    open_id = record_action(record, "Open")
    body, mac = open_id.split(".")
    tampered = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac
    assert (await error_of(await api.request("POST", "DoAction", actionId=tampered), 400))["Code"] == "invalid_id"
    # An id signed for a record is not accepted as an action.
    await error_of(await api.request("POST", "DoAction", actionId=record["UniqueId"]), 400)
    log_id = record_action(record, "LogActivity")
    await error_of(await api.request("POST", "DoAction", actionId=log_id, Direction="Sideways"), 400)
    await error_of(
        await api.request("POST", "DoAction", actionId=log_id, Direction="Inbound", StartTimeUtc="yesterday"), 400
    )


async def test_show_window_opens_a_one_time_login(api: ApiSession, partnercrmd_opener: RecordingOpener) -> None:
    answer = await api.call("POST", "ShowWindow", window="configuration")
    (url,) = partnercrmd_opener.urls
    assert answer == {"Url": url, "Opened": True, "ExpiresInSeconds": 120}  # (issue #17: was 204)
    path = url.split(str(api.client.port), 1)[1]
    login = await api.client.get(path, allow_redirects=False)
    assert login.status == 303 and login.headers["Location"] == "/ui/configuration"
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = await api.client.get("/ui/configuration")
    assert page.status == 200
    assert "Local address book" in await page.text()
    again = await api.client.get(path, allow_redirects=False)
    assert again.status == 403  # the login link works once
    await error_of(await api.request("POST", "ShowWindow", window="desktop"), 400)


async def test_telephony_routes_are_not_served(api: ApiSession) -> None:
    for name in ("MakeCall", "Hangup", "Transfer"):
        body = await error_of(await api.request("POST", name, number="123"), 404)
        assert "phone client" in body["Message"]
    await error_of(await api.request("GET", "NoSuchRoute"), 404)


async def test_openapi_document_is_valid_and_lists_every_route(partnercrmd_client: Client) -> None:
    document = await openapi(partnercrmd_client)
    validate(document)
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {
        (str(r.resource.canonical), r.method)
        for r in partnercrmd_client.app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/v1/") and r.method != "HEAD"
    }
    served.remove(("/api/v1/{name}", "*"))  # the telephony names, answered 404 on purpose
    served = {(p.replace("{app_id}", "{ApplicationId}"), m) for p, m in served}
    assert served == documented
    assert not {route.name for route in ROUTES} & set(TELEPHONY_ROUTES)
