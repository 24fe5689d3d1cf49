"""The event WebSocket and hub: Initial on connect, events fan out, a stuck client never holds up others."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from partnercrmd.events import QUEUE_SIZE, EventHub
from partnercrmd.testing import ApiSession, configure_book, next_event


async def test_initial_event_on_connect(api: ApiSession) -> None:
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        initial = await asyncio.wait_for(ws.receive_json(), 3)
        assert initial["EventType"] == "Initial"
        assert initial["Payload"]["Version"]
        assert initial["Payload"]["ServerTime"].endswith("Z")


async def test_address_book_changes_reach_every_client(api: ApiSession, partnercrmd_app: web.Application) -> None:
    async with (
        api.client.ws_connect(f"/api/v1/events/{api.app_id}") as first,
        api.client.ws_connect(f"/api/v1/events/{api.app_id}") as second,
    ):
        await next_event(first, "Initial")
        await next_event(second, "Initial")
        await configure_book(partnercrmd_app, "local", name="Second local")
        assert (await next_event(first, "AddressBooksChanged"))["EventType"] == "AddressBooksChanged"
        assert (await next_event(second, "AddressBooksChanged"))["EventType"] == "AddressBooksChanged"


async def test_logged_activity_is_announced(api: ApiSession) -> None:
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        record = (await api.call("POST", "Search", query="Huffman"))[0]["Records"][0]
        action = next(a["ActionId"] for a in record["Actions"] if a["SpecialKind"] == "LogActivity")
        await api.call(
            "POST", "DoAction", actionId=action, CallId="c-7", Direction="Outbound", CalledNumber="571-441-5956"
        )
        event = await next_event(ws, "ActivityLogged")
        assert (event["CallId"], event["AddinId"]) == ("c-7", "local")
        assert event["ActivityId"]


async def test_clients_are_closed_on_shutdown(api: ApiSession) -> None:
    ws = await api.client.ws_connect(f"/api/v1/events/{api.app_id}")
    await next_event(ws, "Initial")
    await api.client.server.close()  # the daemon shuts down; the client stays
    message = await asyncio.wait_for(ws.receive(), 3)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == aiohttp.WSCloseCode.GOING_AWAY


async def test_a_stuck_client_is_cut_off_without_delaying_others() -> None:
    hub = EventHub()
    stuck = hub.subscribe("stuck")
    live = hub.subscribe("live")
    received: list[int] = []
    for n in range(QUEUE_SIZE * 2):
        hub.publish("Test", {"N": n})
        event = live.queue.get_nowait()  # the live client reads as events come
        assert event is not None
        received.append(event["N"])
    assert received == list(range(QUEUE_SIZE * 2))
    assert stuck.overflowed
    assert stuck.queue.get_nowait() is None  # its sender is told to close
    assert hub.subscribers == 1


async def test_events_can_target_one_application() -> None:
    hub = EventHub()
    a, b = hub.subscribe("a"), hub.subscribe("b")
    assert hub.publish("MakeCallRequest", {"Destination": "123"}, app_id="b") == 1
    assert a.queue.empty()
    assert await b.queue.get() == {"EventType": "MakeCallRequest", "Destination": "123"}
