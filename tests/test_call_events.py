"""POST CallEvent against the real daemon and its embedded local book: pop, activities on call, logging once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import change_book
from partnercrmd.testing import ApiSession, RecordingOpener, next_event
from partnercrmd.vault_sync import reload_vault

CHRIS = "571-441-5956"
SEB = "858-283-4891"
ALICE = "+44 20 7946 0958"


async def set_local(app: web.Application, **options: Any) -> None:
    """Change the embedded local book's options, as `partnercrmd books set local …` does."""
    await asyncio.to_thread(change_book, app[appkeys.VAULT], app[appkeys.HOST], "local", options)
    await reload_vault(app)


def event(call_id: str, state: str, **more: Any) -> dict[str, Any]:
    fields = {
        "CallId": call_id,
        "State": state,
        "Direction": "Inbound",
        "CallerNumber": CHRIS,
        "CallerName": "Chris Huffman",
        "CalledNumber": SEB,
        "CalledName": "Seb Test",
        "StartTimeUtc": "2026-11-25T14:03:00Z",
    }
    fields.update(more)
    return fields


async def activities_of(api: ApiSession, number: str) -> list[dict[str, Any]]:
    collections = await api.call("POST", "Search", query=number, includeActivities="true")
    records = collections[0]["Records"]
    assert len(records) == 1, records
    return list(records[0]["Activities"])


async def wait_for(predicate: Any, within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {within} s: {value!r}")
        await asyncio.sleep(0.05)


async def test_ringing_pops_the_matching_record(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    await set_local(partnercrmd_app, auto_pop="OnRinging")
    answer = await api.call("POST", "CallEvent", **event("pop-1", "Ringing"))
    assert answer["Popped"].startswith("local/")
    (url,) = partnercrmd_opener.urls
    page = await api.client.get(url.split(str(api.client.port), 1)[1])
    assert page.status == 200
    assert "Chris Huffman" in await page.text()
    # Answered, and the same Ringing again, pop nothing more
    await api.call("POST", "CallEvent", **event("pop-1", "Ringing"))
    await api.call("POST", "CallEvent", **event("pop-1", "Answered"))
    assert len(partnercrmd_opener.urls) == 1
    (matches,) = answer["Matches"]
    assert [r["DisplayText"] for r in matches["Records"]] == ["Chris Huffman"]


async def test_an_answered_event_arriving_after_the_end_pops_nothing(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    await set_local(partnercrmd_app, auto_pop="OnAnswer")
    await api.call("POST", "CallEvent", **event("late-1", "Ended", DurationSeconds=4))
    late = await api.call("POST", "CallEvent", **event("late-1", "Answered"))
    assert late["Popped"] == "" and partnercrmd_opener.urls == []


async def test_outbound_calls_look_up_the_called_party(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    await set_local(partnercrmd_app, auto_pop="OnAnswer")
    ringing = await api.call(
        "POST", "CallEvent", **event("out-1", "Ringing", Direction="Outbound", CallerNumber="201", CalledNumber=ALICE)
    )
    assert ringing["Popped"] == "" and partnercrmd_opener.urls == []  # OnAnswer: not yet
    answered = await api.call("POST", "CallEvent", CallId="out-1", State="Answered", Direction="Outbound")
    assert answered["Popped"].startswith("local/")
    page = await api.client.get(partnercrmd_opener.urls[0].split(str(api.client.port), 1)[1])
    assert "Alice Hartley" in await page.text()


async def test_never_pops_without_the_option_or_a_single_match(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    answer = await api.call("POST", "CallEvent", **event("no-pop", "Ringing"))  # AutoPopOption Never (default)
    assert answer["Popped"] == "" and len(answer["Matches"]) == 1
    await set_local(partnercrmd_app, auto_pop="OnRinging")
    # two records share the number: Single pops neither, Best pops the best one
    await api.call("POST", "CreateNewRecord", RecordTypeId="local/Contact", ContactName="Chris Twin", Phone=CHRIS)
    answer = await api.call("POST", "CallEvent", **event("twins-1", "Ringing"))
    assert answer["Popped"] == "" and partnercrmd_opener.urls == []
    assert len(answer["Matches"][0]["Records"]) == 2
    await set_local(partnercrmd_app, auto_pop_match="Best")
    answer = await api.call("POST", "CallEvent", **event("twins-2", "Ringing"))
    assert answer["Popped"].startswith("local/") and len(partnercrmd_opener.urls) == 1


async def test_show_activity_on_call_sends_recent_activities(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await set_local(partnercrmd_app, create_activity_on_call_end=True)
    await api.call("POST", "CallEvent", **event("hist-1", "Ended", DurationSeconds=30, Notes="First call"))
    await wait_for(lambda: activities_of(api, CHRIS))
    await set_local(partnercrmd_app, show_activity_on_call=True)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        answer = await api.call("POST", "CallEvent", **event("hist-2", "Ringing"))
        (record,) = answer["Matches"][0]["Records"]
        (activity,) = record["Activities"]
        assert "First call" in activity["Body"]
        pushed = await next_event(ws, "CallActivities")
        assert (pushed["CallId"], pushed["AddinId"], pushed["DisplayText"]) == ("hist-2", "local", "Chris Huffman")
        assert pushed["Activities"] == record["Activities"]


async def test_ended_logs_one_activity_even_when_reported_twice(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await set_local(partnercrmd_app, create_activity_on_call_end=True)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await api.call("POST", "CallEvent", **event("twice-1", "Ringing"))
        ended = event("twice-1", "Ended", DurationSeconds=95, Notes="Wants a quote")
        first = await api.call("POST", "CallEvent", **ended)
        logged = await next_event(ws, "ActivityLogged")
        assert (logged["CallId"], logged["AddinId"]) == ("twice-1", "local")
        second = await api.call("POST", "CallEvent", **ended)
    assert first["Logging"][0]["Key"] == second["Logging"][0]["Key"]
    assert second["Logging"][0]["Status"] == "done"
    (activity,) = await activities_of(api, CHRIS)
    assert activity["Subject"] == "Incoming call: 571-441-5956 [Chris Huffman] -> 858-283-4891 [Seb Test]"
    assert activity["DurationSeconds"] == 95 and activity["StartTimeUtc"] == "2026-11-25T14:03:00Z"
    assert "Duration: 1:35" in activity["Body"] and "Wants a quote" in activity["Body"]
    assert f"Call reference: pcrmd-{first['Logging'][0]['Key']}" in activity["Body"]
    # the phone client also presses "log call" on the record: still one activity
    records = (await api.call("POST", "Search", query=CHRIS))[0]["Records"]
    action = next(a["ActionId"] for a in records[0]["Actions"] if a["SpecialKind"] == "LogActivity")
    await api.call("POST", "DoAction", actionId=action, **{k: v for k, v in ended.items() if k != "State"})
    assert len(await activities_of(api, CHRIS)) == 1


async def test_the_same_call_event_posted_concurrently_logs_once(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await set_local(partnercrmd_app, create_activity_on_call_end=True)
    ended = event("burst-1", "Ended", DurationSeconds=5)
    await asyncio.gather(*(api.call("POST", "CallEvent", **ended) for _ in range(5)))
    await wait_for(lambda: activities_of(api, CHRIS))
    await asyncio.sleep(0.5)  # nothing else arrives later either
    assert len(await activities_of(api, CHRIS)) == 1


async def test_templates_of_the_book_shape_the_activity(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await set_local(
        partnercrmd_app,
        create_activity_on_call_end=True,
        activity_subject="Call from $caller_name ($duration)",
        activity_body="$kind call taken by $called_name at $start.\n$notes",
    )
    await api.call("POST", "CallEvent", **event("tmpl-1", "Ended", DurationSeconds=61, Notes="Call back Friday"))
    (activity,) = await wait_for(lambda: activities_of(api, CHRIS))
    assert activity["Subject"] == "Call from Chris Huffman (1:01)"
    reference, taken, notes = activity["Body"].splitlines()[1:]  # the marks come first when the template has $notes
    assert reference.startswith("Call reference: pcrmd-")
    assert (taken, notes) == ("Incoming call taken by Seb Test at 2026-11-25 14:03:00 UTC.", "Call back Friday")
    assert activity["Body"].startswith("Direction: Inbound\n")  # the template has none


async def test_missed_calls_are_logged_and_unmatched_numbers_are_not(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await set_local(partnercrmd_app, create_activity_on_call_end=True)
    missed = await api.call("POST", "CallEvent", **event("miss-1", "Missed"))
    assert [e["AddinId"] for e in missed["Logging"]] == ["local"]
    stranger = await api.call("POST", "CallEvent", **event("stranger-1", "Ended", CallerNumber="+1 202 555 0100"))
    assert stranger["Logging"] == [] and stranger["Matches"] == []
    (activity,) = await wait_for(lambda: activities_of(api, CHRIS))
    assert activity["DurationSeconds"] == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"State": "Ringing", "Direction": "Inbound"}, "CallId"),
        ({"CallId": "c", "State": "Exploded", "Direction": "Inbound"}, "State"),
        ({"CallId": "c", "State": "Ringing", "Direction": "Sideways"}, "Direction"),
        ({"CallId": "c", "State": "Ringing", "Direction": "Inbound", "StartTimeUtc": "yesterday"}, "StartTimeUtc"),
        ({"CallId": "c", "State": "Ended", "Direction": "Inbound", "DurationSeconds": "-4"}, "DurationSeconds"),
    ],
)
async def test_bad_call_events_are_refused_clearly(api: ApiSession, fields: dict[str, str], message: str) -> None:
    response = await api.request("POST", "CallEvent", **fields)
    assert response.status == 400
    body = await response.json()
    assert message in body["Message"] and body["Code"]


async def test_call_event_needs_an_approved_application(api: ApiSession) -> None:
    response = await api.client.post("/api/v1/CallEvent", data=event("x", "Ringing"))
    assert response.status == 401
