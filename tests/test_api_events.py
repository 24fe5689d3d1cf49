"""Events of the published API driven by CallEvent: Initial's Version object and Calls, CallsChanged on each
change of the calls in progress, CallHistoryChanged after a call ends; every message checked against openapi.json."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd import appkeys
from partnercrmd.app import create_app
from partnercrmd.config import DaemonConfig
from partnercrmd.testing import ApiSession, next_event

from .test_api import assert_matches, openapi

Client = TestClient[web.Request, web.Application]
ALICE = "020 7946 0958"  # a sample contact of the local book
US = "+44 20 7946 0000"  # the user's own line


def call(call_id: str, state: str, **more: Any) -> dict[str, Any]:
    fields = {
        "CallId": call_id,
        "State": state,
        "Direction": "Inbound",
        "CallerNumber": ALICE,
        "CalledNumber": US,
        "CalledName": "Me",
        "StartTimeUtc": "2026-12-07T09:30:00Z",
    }
    return fields | more


async def connect(api: ApiSession) -> aiohttp.ClientWebSocketResponse:
    return await api.client.ws_connect(f"/api/v1/events/{api.app_id}")


async def test_initial_carries_the_version_object_and_no_calls(api: ApiSession) -> None:
    document = await openapi(api.client)
    version = await api.call("GET", "Version")
    async with await connect(api) as ws:
        initial = await next_event(ws, "Initial")
    assert_matches(document, "InitialEvent", initial)
    assert initial["Payload"]["Version"] == version  # one builder for the route and the event
    assert all(isinstance(entry["Value"], int) for entry in version["Licenses"])
    assert initial["Payload"]["Calls"] == []


async def test_each_change_of_a_call_is_a_calls_changed_and_its_end_a_call_history_changed(api: ApiSession) -> None:
    document = await openapi(api.client)
    async with await connect(api) as ws:
        await next_event(ws, "Initial")
        await api.call("POST", "CallEvent", **call("ev-1", "Ringing"))
        ringing = await next_event(ws, "CallsChanged")
        assert_matches(document, "CallsChangedEvent", ringing)
        (ringing_call,) = ringing["Payload"]["Calls"]
        caller = ringing_call["CallerContact"]
        assert (ringing_call["Id"], ringing_call["CallState"], ringing_call["Completed"]) == ("ev-1", "Ringing", False)
        assert (caller["DialString"], caller["E164"], caller["Type"]) == (ALICE, "+442079460958", "External")
        assert caller["DisplayName"] == "Alice Hartley"  # the record the call matched
        alice = (await api.call("POST", "Search", query=ALICE))[0]["Records"][0]
        assert caller["Id"] == alice["UniqueId"]
        assert ringing_call["CalledContact"]["Type"] == "Internal"

        await api.call("POST", "CallEvent", **call("ev-1", "Answered"))
        answered = await next_event(ws, "CallsChanged")
        assert [c["CallState"] for c in answered["Payload"]["Calls"]] == ["Answered"]

        async with await connect(api) as late:  # a client connecting now sees the call in progress
            initial = await next_event(late, "Initial")
        assert_matches(document, "InitialEvent", initial)
        assert initial["Payload"]["Calls"] == answered["Payload"]["Calls"]

        await api.call("POST", "CallEvent", **call("ev-1", "Ended", DurationSeconds=65))
        ended = await next_event(ws, "CallsChanged")
        assert ended["Payload"]["Calls"] == []
        history = await next_event(ws, "CallHistoryChanged")
    assert_matches(document, "CallHistoryChangedEvent", history)
    entry = history["CallHistory"][0]
    assert (entry["Id"], entry["CallState"], entry["Duration"], entry["IsAnswered"]) == (
        "ev-1",
        "Ended",
        "00:01:05",
        True,
    )
    assert (entry["Tel"], entry["Name"], entry["Contact"]["E164"]) == (ALICE, "Alice Hartley", "+442079460958")
    assert history["Missed"] == []


async def test_a_missed_call_is_in_the_missed_list(api: ApiSession) -> None:
    async with await connect(api) as ws:
        await next_event(ws, "Initial")
        await api.call("POST", "CallEvent", **call("ev-missed", "Ringing"))
        await api.call("POST", "CallEvent", **call("ev-missed", "Missed"))
        history = await next_event(ws, "CallHistoryChanged")
    assert [e["Id"] for e in history["Missed"]] == ["ev-missed"]
    assert history["Missed"][0]["IsAnswered"] is False


async def test_a_repeated_event_that_changes_nothing_is_not_news(api: ApiSession) -> None:
    async with await connect(api) as ws:
        await next_event(ws, "Initial")
        await api.call("POST", "CallEvent", **call("ev-2", "Ringing"))
        await next_event(ws, "CallsChanged")
        await api.call("POST", "CallEvent", **call("ev-2", "Ringing"))
        await api.call("POST", "CallEvent", **call("ev-2", "Held"))
        held = await next_event(ws, "CallsChanged")  # the second Ringing sent nothing
    assert [c["CallState"] for c in held["Payload"]["Calls"]] == ["Held"]


async def test_calls_in_progress_survive_a_restart(
    api: ApiSession,
    partnercrmd_config: DaemonConfig,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    await api.call("POST", "CallEvent", **call("ev-3", "Answered"))
    await api.client.server.close()
    restarted = await aiohttp_client(create_app(partnercrmd_config))
    token = restarted.app[appkeys.INSTALL_TOKEN].value
    response = await restarted.post(
        "/api/v1/Register", data={"Name": "Test client", "Id": api.app_id}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 204
    async with restarted.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        initial = await asyncio.wait_for(ws.receive_json(), 5)
    assert [c["Id"] for c in initial["Payload"]["Calls"]] == ["ev-3"]
