"""A book that raises, hangs, returns garbage or matches loosely never spoils the others' answer."""

from __future__ import annotations

import logging
import time

import pytest
from aiohttp import web

from partnercrmd.testing import ApiSession, by_book, configure_book
from tests.fake_addins import ExplodingAddin, FakeAddins


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("fakes", FakeAddins()), ("exploding", ExplodingAddin())]


async def test_failing_books_get_exception_text_and_the_rest_answer(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    for integration in ("raising", "hanging", "blocking-slow", "garbage", "broken-open"):
        await configure_book(partnercrmd_app, integration)
    started = time.monotonic()
    collections = await api.call("POST", "Search", query="+44 20 7946 0958", timeoutMs=300)
    elapsed = time.monotonic() - started
    books = by_book(collections)
    assert [r["DisplayText"] for r in books["local"]["Records"]] == ["Alice Hartley"]
    assert books["local"]["ExceptionText"] == ""
    assert "backend exploded" in books["raising"]["ExceptionText"]
    assert books["hanging"]["ExceptionText"] == "No answer within 0.3 s."
    assert books["blocking-slow"]["ExceptionText"] == "No answer within 0.3 s."
    assert "invalid data" in books["garbage"]["ExceptionText"]
    assert "could not be opened" in books["broken-open"]["ExceptionText"]
    for failing in ("raising", "hanging", "blocking-slow", "garbage", "broken-open"):
        assert books[failing]["Records"] == []
    assert elapsed < 1.0, "the deadline bounds the whole request"


async def test_default_deadline_applies_without_override(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await configure_book(partnercrmd_app, "hanging")
    started = time.monotonic()
    books = by_book(await api.call("POST", "Search", query="Alice"))
    assert books["hanging"]["ExceptionText"] == "No answer within 1.5 s."
    assert 1.4 < time.monotonic() - started < 3.0


async def test_loose_backend_matches_are_verified_by_the_host(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await configure_book(partnercrmd_app, "loose")
    books = by_book(await api.call("POST", "Search", query="+44 20 7946 0123"))
    assert [r["DisplayText"] for r in books["loose"]["Records"]] == ["Right Person"]
    by_name = by_book(await api.call("POST", "Search", query="person"))
    assert len(by_name["loose"]["Records"]) == 2  # text searches are the backend's to judge


async def test_results_come_in_priority_order(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await configure_book(partnercrmd_app, "loose", name="Second", priority=20)
    await configure_book(partnercrmd_app, "loose", name="First", priority=1)
    collections = await api.call("POST", "Search", query="person")
    assert [c["AddinName"] for c in collections] == ["First", "Local address book", "Second"]


async def test_secrets_never_reach_errors_output_or_logs(
    api: ApiSession, partnercrmd_app: web.Application, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await configure_book(partnercrmd_app, "secretive", password="hunter2-very-secret")
    books = by_book(await api.call("POST", "Search", query="Alice"))
    assert books["secretive"]["ExceptionText"] == "login refused for password ***"
    listed = await (await api.request("GET", "AddressBooks")).text()
    assert "hunter2" not in listed
    assert "hunter2" not in caplog.text


async def test_add_in_failing_to_list_integrations_is_reported(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    from partnercrmd import appkeys

    host = partnercrmd_app[appkeys.HOST]
    assert host.addins["exploding"].error == "RuntimeError: cannot list integrations"
    assert "raising" in host.integrations  # the other add-in's integrations are all there


async def test_connector_can_narrow_its_capabilities(api: ApiSession, partnercrmd_app: web.Application) -> None:
    book_id = await configure_book(partnercrmd_app, "narrow")
    books = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}
    assert books[book_id]["HasActivityActionFeatureCreate"] is False
    assert books["local"]["HasActivityActionFeatureCreate"] is True
    record = by_book(await api.call("POST", "Search", query="person"))[book_id]["Records"][0]
    assert {a["SpecialKind"] for a in record["Actions"]} == {"Open"}
