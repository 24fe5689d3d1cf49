"""DoAction LogActivity with actionId alone: the record's latest reported call is logged once through the outbox;
with none, the answer gives (and opens) a "log a call" page whose form logs the call once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import change_book
from partnercrmd.testing import ApiSession, RecordingOpener, action, configure_book, search
from partnercrmd.vault_sync import reload_vault
from tests.backend_servers import PERSON, PERSON_NUMBER, Backend, start_sql
from tests.ui_support import csrf_of

from .test_api import assert_matches, openapi

ALICE = "020 7946 0958"


async def set_local(app: web.Application, **options: Any) -> None:
    await asyncio.to_thread(change_book, app[appkeys.VAULT], app[appkeys.HOST], "local", options)
    await reload_vault(app)


async def alice(api: ApiSession) -> dict[str, Any]:
    (record,) = (await search(api, ALICE, includeActivities="true"))["local"]["Records"]
    return dict(record)


async def activities(api: ApiSession) -> list[dict[str, Any]]:
    return list((await alice(api))["Activities"])


async def log_alone(api: ApiSession) -> dict[str, Any]:
    """What the published client sends: the action id and nothing else."""
    response = await api.client.post(
        "/api/v1/DoAction",
        data={"actionId": action(await alice(api), "LogActivity")},
        headers=api.headers,
    )
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    assert_matches(await openapi(api.client), "LogActivityResult", answer)
    return answer


def reported(call_id: str, state: str, number: str = ALICE, **more: Any) -> dict[str, Any]:
    return {
        "CallId": call_id,
        "State": state,
        "Direction": "Inbound",
        "CallerNumber": number,
        "CalledNumber": "201",
        "StartTimeUtc": "2026-12-07T09:30:00Z",
    } | more


async def test_the_latest_reported_call_with_the_record_is_logged_once(api: ApiSession) -> None:
    await api.call("POST", "CallEvent", **reported("older", "Ended", DurationSeconds=10))
    await api.call("POST", "CallEvent", **reported("latest", "Ringing"))
    await api.call("POST", "CallEvent", **reported("latest", "Ended", DurationSeconds=125, Notes="Asked for a quote"))
    answer = await log_alone(api)
    assert (answer["Result"], answer["CallId"], answer["AddinId"]) == ("Logged", "latest", "local")
    assert answer["ActivityId"]
    (logged,) = await activities(api)
    assert "Asked for a quote" in logged["Body"] and logged["DurationSeconds"] == 125
    again = await log_alone(api)
    assert (again["Result"], again["CallId"], again["ActivityId"]) == ("AlreadyLogged", "latest", answer["ActivityId"])
    assert len(await activities(api)) == 1


async def test_a_call_logged_at_its_end_is_not_logged_again(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await set_local(partnercrmd_app, create_activity_on_call_end=True)
    await api.call("POST", "CallEvent", **reported("at-end", "Ended", DurationSeconds=30))
    for _ in range(100):
        if await activities(api):
            break
        await asyncio.sleep(0.05)
    answer = await log_alone(api)
    assert (answer["Result"], answer["CallId"]) == ("AlreadyLogged", "at-end")
    assert len(await activities(api)) == 1


async def test_with_no_call_reported_the_answer_gives_and_opens_the_log_a_call_page(
    api: ApiSession, partnercrmd_opener: RecordingOpener
) -> None:
    await api.call("POST", "CallEvent", **reported("in-progress", "Answered"))  # not ended: not logged yet
    await api.call("POST", "CallEvent", **reported("someone-else", "Ended", number="+44 161 496 0000"))
    answer = await log_alone(api)
    assert answer["Result"] == "LogCallPage" and answer["Opened"] is True
    assert re.fullmatch(rf"http://127\.0\.0\.1:{api.client.port}/ui/logcall/start/[^/]+/[^/]+", answer["Url"])
    assert partnercrmd_opener.urls == [answer["Url"]]
    assert await activities(api) == []


async def open_page(api: ApiSession) -> tuple[str, str]:
    """(the page's path, its anti-forgery token), after the one-time login the answer's Url is."""
    url = (await log_alone(api))["Url"]
    path = url.split(str(api.client.port), 1)[1]
    started = await api.client.get(path, allow_redirects=False)
    assert started.status == 303, await started.text()
    page_path = started.headers["Location"]
    page = await api.client.get(page_path)
    assert page.status == 200
    html = await page.text()
    assert "Log a call with Alice Hartley" in html
    reused = await api.client.get(path, allow_redirects=False)  # the login link works once
    assert reused.status == 403
    return page_path, csrf_of(html)


async def test_the_page_logs_what_the_user_wrote_once(api: ApiSession) -> None:
    page_path, csrf = await open_page(api)
    form = {
        "csrf": csrf,
        "subject": "Follow-up about the quote",
        "notes": "She wants it by Friday.",
        "direction": "Outbound",
        "time": "2026-12-07T10:15",
        "duration": "4:30",
    }
    saved = await api.client.post(page_path, data=form)
    assert saved.status == 200  # redirected back to the page, which now says it is logged
    assert "The call was logged" in await saved.text()
    (logged,) = await activities(api)
    assert logged["Subject"] == "Follow-up about the quote"
    assert "She wants it by Friday." in logged["Body"]
    assert (logged["Direction"], logged["DurationSeconds"]) == ("Outbound", 270)
    again = await api.client.post(page_path, data=form)  # the same form sent twice
    assert again.status == 200
    assert len(await activities(api)) == 1


async def test_the_page_refuses_forged_forms_and_links(api: ApiSession) -> None:
    page_path, csrf = await open_page(api)
    form = {"subject": "x", "direction": "Inbound", "time": "2026-12-07T10:15", "duration": "1"}
    assert (await api.client.post(page_path, data={**form, "csrf": "forged"})).status == 403
    assert (await api.client.post(page_path, data={**form, "csrf": csrf, "duration": "soon"})).status == 400
    assert (await api.client.post(page_path, data={**form, "csrf": csrf, "direction": "Sideways"})).status == 400
    altered = page_path[:-3] + ("AAA" if not page_path.endswith("AAA") else "BBB")
    assert (await api.client.get(altered)).status == 400
    api.client.session.cookie_jar.clear()
    assert (await api.client.get(page_path)).status == 403  # no session: open it from the phone client
    assert await activities(api) == []


# --- the same against a real server: PostgreSQL through the SQL add-in ------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[Backend]:
    backend = start_sql()
    try:
        yield backend
    finally:
        backend.close()


async def test_a_real_crm_gets_the_latest_call_once(
    api: ApiSession, partnercrmd_app: web.Application, postgres: Backend
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **postgres.settings)
    (dana,) = (await search(api, PERSON_NUMBER))[book_id]["Records"]
    assert dana["DisplayText"] == PERSON
    await api.call("POST", "CallEvent", **reported("pg-1", "Ended", number=PERSON_NUMBER, DurationSeconds=42))
    log_id = action(dana, "LogActivity")
    first = await api.call("POST", "DoAction", actionId=log_id)
    assert (first["Result"], first["AddinId"], first["CallId"]) == ("Logged", book_id, "pg-1")
    again = await api.call("POST", "DoAction", actionId=log_id)
    assert (again["Result"], again["ActivityId"]) == ("AlreadyLogged", first["ActivityId"])
    book = postgres.extra["book"]
    rows = await asyncio.to_thread(book.rows, "SELECT seconds, direction FROM {calls}")
    assert rows == [(42, "Inbound")]  # read back from PostgreSQL itself: one row
