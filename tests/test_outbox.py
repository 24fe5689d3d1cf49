"""The activity outbox's policy through the daemon: rate limit per book, retries, giving up, never a blind rewrite.

The add-ins here are test doubles registered through the real hook: a CRM
whose answers can be lost after it wrote, that can be down for a number of
attempts, and that cannot read its activities back. Real CRMs are in
tests/test_call_logging_backends.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from aiohttp import web

from partnercrmd import appkeys, hookimpl
from partnercrmd.app import create_app
from partnercrmd.books import change_book
from partnercrmd.call_log.outbox_worker import OutboxPolicy
from partnercrmd.config import DaemonConfig
from partnercrmd.errors import AddinError
from partnercrmd.integration import BookContext, Capability, Connector, Integration
from partnercrmd.model import Activity, Contact, Phone, SearchQuery
from partnercrmd.testing import ApiSession, configure_book, next_event, remove_default_book
from partnercrmd.vault_sync import reload_vault
from tests.test_api import assert_matches, openapi

NUMBER = "+44 20 7946 0321"


class WriteOnlyCrm(Connector):
    """Logs calls but cannot list them; `down_for` failed attempts first; `lose_next` answers lost after writing."""

    writes: ClassVar[list[Activity]] = []
    down_for = 0
    lose_next = 0

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        return [Contact(id="p1", display_name="Pat Caller", phones=[Phone(NUMBER)])]

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        cls = WriteOnlyCrm  # one shared state for both doubles (a subclass would shadow the counters)
        if cls.down_for > 0:
            cls.down_for -= 1
            raise AddinError("The CRM cannot be reached.", code="cannot_connect")
        cls.writes.append(activity)
        if cls.lose_next > 0:
            cls.lose_next -= 1
            raise TimeoutError  # written, but the answer never came
        return f"a{len(cls.writes)}"


class ReadableCrm(WriteOnlyCrm):
    """The same CRM, able to read its activities back."""

    async def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        return list(reversed(WriteOnlyCrm.writes))[:limit]


class Addins:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        caps = frozenset({Capability.SEARCH_NUMBER, Capability.LOG_ACTIVITY})

        def open_write_only(context: BookContext) -> Connector:
            return WriteOnlyCrm()

        def open_readable(context: BookContext) -> Connector:
            return ReadableCrm()

        return [
            Integration(id="writeonly", name="Write-only CRM", version="1", open=open_write_only, capabilities=caps),
            Integration(
                id="readable",
                name="Readable CRM",
                version="1",
                open=open_readable,
                capabilities=caps | {Capability.SHOW_ACTIVITIES},
            ),
        ]


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("outbox-test-crms", Addins())]


@pytest.fixture(autouse=True)
def fresh_crm() -> None:
    WriteOnlyCrm.writes = []
    WriteOnlyCrm.down_for = 0
    WriteOnlyCrm.lose_next = 0


@pytest.fixture
def partnercrmd_app(partnercrmd_config: DaemonConfig) -> web.Application:
    app = create_app(partnercrmd_config)
    app[appkeys.OUTBOX_POLICY] = OutboxPolicy(
        rate_per_second=10.0, timeout=2.0, first_delay=0.05, max_delay=0.2, max_attempts=4, poll=0.05
    )
    return app


async def crm_book(app: web.Application, kind: str) -> str:
    await remove_default_book(app)
    book_id = await configure_book(app, kind)
    await asyncio.to_thread(
        change_book, app[appkeys.VAULT], app[appkeys.HOST], book_id, {"create_activity_on_call_end": True}
    )
    await reload_vault(app)
    return book_id


def ended(call_id: str) -> dict[str, str]:
    return {"CallId": call_id, "State": "Ended", "Direction": "Inbound", "CallerNumber": NUMBER, "DurationSeconds": "3"}


async def settled(app: web.Application, call_id: str, status: str) -> Any:
    store = app[appkeys.CALLS].store
    for _ in range(200):
        (entry,) = await asyncio.to_thread(store.entries_of_call, call_id)
        if entry.status == status:
            return entry
        await asyncio.sleep(0.05)
    raise AssertionError(f"{call_id}: still {entry.status} ({entry.last_error})")


async def test_writes_keep_to_the_rate_limit_of_the_book(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await crm_book(partnercrmd_app, "readable")
    await asyncio.gather(*(api.call("POST", "CallEvent", **ended(f"rate-{i}")) for i in range(25)))
    entries = [await settled(partnercrmd_app, f"rate-{i}", "done") for i in range(25)]
    spread = max(e.done_at for e in entries) - min(e.done_at for e in entries)
    assert spread >= 1.2  # 10 at once (the burst), then 10 a second
    assert len(WriteOnlyCrm.writes) == 25


async def test_a_crm_down_for_a_while_gets_the_call_once(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await crm_book(partnercrmd_app, "readable")
    WriteOnlyCrm.down_for = 2
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        assert (await ws.receive_json())["EventType"] == "Initial"
        await api.call("POST", "CallEvent", **ended("down-1"))
        failed = await next_event(ws, "ActivityFailed")
        assert failed["WillRetry"] is True and failed["Reason"] == "The CRM cannot be reached."
        logged = await next_event(ws, "ActivityLogged")
    assert logged["CallId"] == "down-1"
    entry = await settled(partnercrmd_app, "down-1", "done")
    assert entry.attempts == 3 and len(WriteOnlyCrm.writes) == 1


async def test_a_crm_down_too_long_fails_the_entry_for_the_user(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await crm_book(partnercrmd_app, "readable")
    WriteOnlyCrm.down_for = 100
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        assert (await ws.receive_json())["EventType"] == "Initial"
        await api.call("POST", "CallEvent", **ended("long-1"))
        while (event := await next_event(ws, "ActivityFailed"))["WillRetry"]:
            pass
    entry = await settled(partnercrmd_app, "long-1", "failed")
    assert entry.attempts == 4 and "cannot be reached" in entry.last_error
    assert event["Reason"] == entry.last_error


async def test_a_lost_answer_is_found_in_the_crm_instead_of_written_again(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await crm_book(partnercrmd_app, "readable")
    WriteOnlyCrm.lose_next = 1
    await api.call("POST", "CallEvent", **ended("lost-1"))
    entry = await settled(partnercrmd_app, "lost-1", "done")
    assert entry.attempts == 2  # found by its marker, not written again
    assert len(WriteOnlyCrm.writes) == 1


async def test_a_book_that_cannot_read_back_is_never_rewritten_blindly(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await crm_book(partnercrmd_app, "writeonly")
    WriteOnlyCrm.lose_next = 1
    await api.call("POST", "CallEvent", **ended("blind-1"))
    entry = await settled(partnercrmd_app, "blind-1", "failed")
    assert "may have been logged" in entry.last_error and "retry" in entry.last_error
    assert len(WriteOnlyCrm.writes) == 1


async def test_do_action_logs_through_the_outbox_and_answers_502_while_queued(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    book_id = await crm_book(partnercrmd_app, "readable")
    WriteOnlyCrm.down_for = 1
    (collection,) = await api.call("POST", "Search", query=NUMBER)
    assert collection["AddinId"] == book_id
    action = next(a["ActionId"] for a in collection["Records"][0]["Actions"] if a["SpecialKind"] == "LogActivity")
    fields = {k: v for k, v in ended("act-1").items() if k != "State"}
    queued = await api.request("POST", "DoAction", actionId=action, **fields)
    assert queued.status == 502
    body = await queued.json()
    assert body["Code"] == "queued_for_retry" and "will be logged" in body["Message"]
    await settled(partnercrmd_app, "act-1", "done")
    assert (await api.request("POST", "DoAction", actionId=action, **fields)).status == 204  # logged already
    assert len(WriteOnlyCrm.writes) == 1


async def test_call_event_answer_matches_the_openapi_document(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await crm_book(partnercrmd_app, "readable")
    ringing = await api.call("POST", "CallEvent", **{**ended("shape-1"), "State": "Ringing"})
    assert_matches(await openapi(api.client), "CallEventResult", ringing)
    answer = await api.call("POST", "CallEvent", **ended("shape-1"))
    assert_matches(await openapi(api.client), "CallEventResult", answer)
    assert answer["Logging"][0]["Status"] in {"pending", "sending", "done"}
