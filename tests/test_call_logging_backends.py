"""Calls logged at their end in REAL Tryton and REAL BottleCRM and the local book, exactly once, through faults.

The servers are the seeded ones of tests/backend_servers.py (the add-ins' own
test helpers). Each address book reaches its server through a FaultProxy
(tests/fault_proxy.py) that can take the server down or drop its answers.
Every count is read back from the server itself (Tryton's ir.note, BottleCRM's
interactions API, the local book's SQLite file), never from the daemon.

Dana Whitfield (+44 20 7946 0958) is in Tryton and BottleCRM; the local book's
sample contact Alice Hartley has the same number.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.app import create_app
from partnercrmd.books import change_book
from partnercrmd.call_log.outbox_worker import OutboxPolicy
from partnercrmd.config import DaemonConfig
from partnercrmd.local_book.addin import DATABASE_NAME
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession, RecordingOpener, configure_book
from partnercrmd.vault_sync import reload_vault
from tests.backend_servers import PERSON_NUMBER, Backend, close_all, run_parallel, start_backend
from tests.daemon_process import Daemon, describe, run_cli, wait_until
from tests.fault_proxy import FaultProxy

KINDS = ("tryton", "bottlecrm")
WRITE_REQUEST = {"tryton": b"model.ir.note.create", "bottlecrm": b"POST /api/interactions/"}
"""What the request that writes a call looks like on the wire, per server."""


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backend]]:
    root = tmp_path_factory.mktemp("call-logging")
    started = run_parallel({kind: functools.partial(start_backend, kind, root / kind) for kind in KINDS})
    try:
        yield started
    finally:
        close_all(started.values())


@pytest.fixture(scope="module")
def proxies(backends: dict[str, Backend]) -> Iterator[dict[str, FaultProxy]]:
    started = {kind: FaultProxy(backend.port).start() for kind, backend in backends.items()}
    try:
        yield started
    finally:
        for proxy in started.values():
            proxy.close()


@pytest.fixture(autouse=True)
def healthy(proxies: dict[str, FaultProxy]) -> None:
    """Every test starts with the servers reachable and answering."""
    for proxy in proxies.values():
        proxy.up()
        proxy.lose_answers_after(None)


def book_settings(kind: str, backends: dict[str, Backend], proxies: dict[str, FaultProxy]) -> dict[str, Any]:
    backend = backends[kind]
    settings = {
        k: proxies[kind].replace_port(v, backend.port) if isinstance(v, str) else v for k, v in backend.settings.items()
    }
    return {**settings, "create_activity_on_call_end": True}


# --- reading the servers back ----------------------------------------------------------------------


def tryton_bodies(backend: Backend) -> list[str]:
    admin = backend.server.admin()
    party = backend.extra["ids"]["dana"]
    notes = admin.call(
        "model.ir.note.search_read", [("resource", "=", f"party.party,{party}")], 0, None, None, ["message"]
    )
    return [str(n["message"]) for n in notes]


def bottlecrm_bodies(backend: Backend) -> list[str]:
    api = backend.server.api()
    (dana,) = [c for c in api.contacts() if c["first_name"] == "Dana"]
    status, answer = api.call("GET", f"/api/interactions/?contact={dana['id']}&limit=200")
    assert status == 200, answer
    return [f"{i.get('subject', '')}\n{i.get('body', '')}" for i in answer["interactions"]]


def local_bodies(home_data: Path) -> list[str]:
    with sqlite3.connect(home_data / "books" / "local" / DATABASE_NAME) as db:
        return [f"{s}\n{b}" for s, b in db.execute("SELECT subject, body FROM activities")]


def logged(bodies: list[str], tag: str) -> int:
    """How many activities carry the call's tag (each test call has a unique one in its Notes)."""
    return sum(1 for body in bodies if f"[[{tag}]]" in body)


def counts(backends: dict[str, Backend], home_data: Path, tag: str) -> dict[str, int]:
    return {
        "tryton": logged(tryton_bodies(backends["tryton"]), tag),
        "bottlecrm": logged(bottlecrm_bodies(backends["bottlecrm"]), tag),
        "local": logged(local_bodies(home_data), tag),
    }


def call_fields(call_id: str, state: str, tag: str) -> dict[str, str]:
    return {
        "CallId": call_id,
        "State": state,
        "Direction": "Inbound",
        "CallerNumber": PERSON_NUMBER,
        "CalledNumber": "201",
        "CalledName": "Reception",
        "StartTimeUtc": "2026-11-25T09:15:00Z",
        "DurationSeconds": "42",
        "Notes": f"[[{tag}]]",
    }


# --- the daemon in this process ------------------------------------------------------------------


@pytest.fixture
def partnercrmd_app(partnercrmd_config: DaemonConfig) -> web.Application:
    partnercrmd_config.search_deadline = 10.0  # real servers on a busy test machine: matching must not time out
    app = create_app(partnercrmd_config)
    app[appkeys.OUTBOX_POLICY] = OutboxPolicy(timeout=4.0, first_delay=0.3, max_delay=1.0, poll=0.1)
    return app


@pytest.fixture
async def books(
    api: ApiSession, partnercrmd_app: web.Application, backends: dict[str, Backend], proxies: dict[str, FaultProxy]
) -> dict[str, str]:
    """A Tryton, a BottleCRM and the local book, each logging calls at their end; ids by kind."""
    ids = {
        kind: await configure_book(partnercrmd_app, kind, **book_settings(kind, backends, proxies)) for kind in KINDS
    }
    vault, host = partnercrmd_app[appkeys.VAULT], partnercrmd_app[appkeys.HOST]
    await asyncio.to_thread(change_book, vault, host, "local", {"create_activity_on_call_end": True})
    await reload_vault(partnercrmd_app)
    return {**ids, "local": "local"}


async def until_counts(
    backends: dict[str, Backend], data_dir: Path, tag: str, expected: dict[str, int], within: float = 30.0
) -> dict[str, int]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        now = await asyncio.to_thread(counts, backends, data_dir, tag)
        if now == expected or asyncio.get_running_loop().time() > deadline:
            return now
        await asyncio.sleep(0.2)


async def test_ended_call_is_logged_once_in_each_real_crm(
    api: ApiSession, books: dict[str, str], backends: dict[str, Backend], partnercrmd_home: Paths
) -> None:
    tag = f"ended-{uuid.uuid4().hex[:8]}"
    ringing = await api.call("POST", "CallEvent", **call_fields(tag, "Ringing", tag))
    assert {m["AddinId"] for m in ringing["Matches"]} == set(books.values())
    ended = await api.call("POST", "CallEvent", **call_fields(tag, "Ended", tag))
    assert {e["AddinId"] for e in ended["Logging"]} == set(books.values())
    one_each = {"tryton": 1, "bottlecrm": 1, "local": 1}
    assert await until_counts(backends, partnercrmd_home.data_dir, tag, one_each) == one_each
    await api.call("POST", "CallEvent", **call_fields(tag, "Ended", tag))  # the phone client reports it again
    await asyncio.sleep(1.0)
    assert await asyncio.to_thread(counts, backends, partnercrmd_home.data_dir, tag) == one_each
    (note,) = [b for b in tryton_bodies(backends["tryton"]) if f"[[{tag}]]" in b]
    assert note.startswith("Incoming call: +44 20 7946 0958 -> 201 [Reception]")
    assert "Duration: 0:42" in note and "Call reference: pcrmd-" in note


async def test_ringing_pops_the_callers_party_in_tryton_with_its_call_history(
    api: ApiSession,
    partnercrmd_app: web.Application,
    partnercrmd_opener: RecordingOpener,
    books: dict[str, str],
    backends: dict[str, Backend],
    partnercrmd_home: Paths,
) -> None:
    tag = f"pop-{uuid.uuid4().hex[:8]}"
    await api.call("POST", "CallEvent", **call_fields(tag, "Ended", tag))  # an earlier call, logged
    one_each = {"tryton": 1, "bottlecrm": 1, "local": 1}
    assert await until_counts(backends, partnercrmd_home.data_dir, tag, one_each) == one_each
    options = {"auto_pop": "OnRinging", "show_activity_on_call": True, "web_url": "https://erp.example"}
    vault, host = partnercrmd_app[appkeys.VAULT], partnercrmd_app[appkeys.HOST]
    await asyncio.to_thread(change_book, vault, host, books["tryton"], options)
    await reload_vault(partnercrmd_app)
    ringing = await api.call("POST", "CallEvent", **call_fields(f"{tag}-next", "Ringing", f"{tag}-next"))
    dana = backends["tryton"].extra["ids"]["dana"]
    database = backends["tryton"].settings["database"]
    assert partnercrmd_opener.urls == [f"https://erp.example/#{database}/model/party.party/{dana}"]
    assert ringing["Popped"] == f"{books['tryton']}/{dana}"
    (tryton,) = [m for m in ringing["Matches"] if m["AddinId"] == books["tryton"]]
    (record,) = tryton["Records"]
    assert record["DisplayText"] == "Dana Whitfield"
    assert any(f"[[{tag}]]" in activity["Body"] for activity in record["Activities"])  # ShowActivityOnCall
    others = [m for m in ringing["Matches"] if m["AddinId"] != books["tryton"]]
    assert all("Activities" not in r for m in others for r in m["Records"])  # only where the book shows them


async def test_a_crm_down_at_call_end_gets_the_call_once_it_is_back(
    api: ApiSession,
    books: dict[str, str],
    backends: dict[str, Backend],
    proxies: dict[str, FaultProxy],
    partnercrmd_home: Paths,
) -> None:
    tag = f"down-{uuid.uuid4().hex[:8]}"
    await api.call("POST", "CallEvent", **call_fields(tag, "Ringing", tag))
    for proxy in proxies.values():
        proxy.down()
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        assert (await ws.receive_json())["EventType"] == "Initial"
        await api.call("POST", "CallEvent", **call_fields(tag, "Ended", tag))
        failed: set[str] = set()
        while failed != {books["tryton"], books["bottlecrm"]}:
            event = await asyncio.wait_for(ws.receive_json(), 15)
            if event["EventType"] == "ActivityFailed":
                assert event["WillRetry"] is True and event["CallId"] == tag
                failed.add(event["AddinId"])
    assert await asyncio.to_thread(counts, backends, partnercrmd_home.data_dir, tag) == {
        "tryton": 0,
        "bottlecrm": 0,
        "local": 1,
    }
    await asyncio.sleep(1.0)  # a few more failed attempts
    for proxy in proxies.values():
        proxy.up()
    one_each = {"tryton": 1, "bottlecrm": 1, "local": 1}
    assert await until_counts(backends, partnercrmd_home.data_dir, tag, one_each) == one_each


async def test_a_crm_down_for_the_whole_call_gets_it_against_the_record_found_when_back(
    api: ApiSession,
    books: dict[str, str],
    backends: dict[str, Backend],
    proxies: dict[str, FaultProxy],
    partnercrmd_home: Paths,
) -> None:
    tag = f"unsearched-{uuid.uuid4().hex[:8]}"
    for proxy in proxies.values():
        proxy.down()
    ringing = await api.call("POST", "CallEvent", **call_fields(tag, "Ringing", tag))
    assert [m["AddinId"] for m in ringing["Matches"]] == ["local"]  # the CRMs could not be searched
    ended = await api.call("POST", "CallEvent", **call_fields(tag, "Ended", tag))
    assert {e["AddinId"] for e in ended["Logging"]} == set(books.values())  # queued to be looked up later
    await asyncio.sleep(1.0)
    for proxy in proxies.values():
        proxy.up()
    one_each = {"tryton": 1, "bottlecrm": 1, "local": 1}
    assert await until_counts(backends, partnercrmd_home.data_dir, tag, one_each) == one_each
    # The CRM holds the call a moment before the daemon hears its answer and marks the entry done.
    store = api.client.app[appkeys.CALLS].store
    async with asyncio.timeout(15):
        while True:
            entries = await asyncio.to_thread(store.entries_of_call, tag)
            if entries and all(e.status == "done" for e in entries):
                break
            await asyncio.sleep(0.1)
    assert len(entries) == len(books)
    assert all(e.contact_id for e in entries)  # the record each CRM has for the number


async def test_a_lost_answer_after_the_crm_wrote_does_not_log_twice(
    api: ApiSession,
    books: dict[str, str],
    backends: dict[str, Backend],
    proxies: dict[str, FaultProxy],
    partnercrmd_home: Paths,
) -> None:
    tag = f"lost-{uuid.uuid4().hex[:8]}"
    await api.call("POST", "CallEvent", **call_fields(tag, "Ringing", tag))
    for kind, proxy in proxies.items():
        proxy.lose_answers_after(WRITE_REQUEST[kind])
    lost_before = {kind: proxy.lost for kind, proxy in proxies.items()}
    await api.call("POST", "CallEvent", **call_fields(tag, "Ended", tag))
    one_each = {"tryton": 1, "bottlecrm": 1, "local": 1}
    # the CRMs wrote the call; the daemon did not hear so, times out and tries again
    assert await until_counts(backends, partnercrmd_home.data_dir, tag, one_each, within=10) == one_each
    for proxy in proxies.values():
        proxy.lose_answers_after(None)
    assert all(proxies[k].lost > lost_before[k] for k in KINDS)
    outbox = api.client.app[appkeys.CALLS].store

    def settled() -> bool:
        return all(e.status == "done" for e in outbox.entries_of_call(tag))

    for _ in range(150):
        if await asyncio.to_thread(settled):
            break
        await asyncio.sleep(0.1)
    entries = await asyncio.to_thread(outbox.entries_of_call, tag)
    assert {e.status for e in entries} == {"done"}
    assert all(e.attempts >= 2 for e in entries if e.book_id != "local")  # retried, found, not rewritten
    await asyncio.sleep(0.5)
    assert await asyncio.to_thread(counts, backends, partnercrmd_home.data_dir, tag) == one_each


async def test_do_action_after_call_end_does_not_log_again(
    api: ApiSession, books: dict[str, str], backends: dict[str, Backend], partnercrmd_home: Paths
) -> None:
    tag = f"action-{uuid.uuid4().hex[:8]}"
    ringing = await api.call("POST", "CallEvent", **call_fields(tag, "Ringing", tag))
    await api.call("POST", "CallEvent", **call_fields(tag, "Ended", tag))
    one_each = {"tryton": 1, "bottlecrm": 1, "local": 1}
    assert await until_counts(backends, partnercrmd_home.data_dir, tag, one_each) == one_each
    for collection in ringing["Matches"]:
        for record in collection["Records"]:
            action = next(a["ActionId"] for a in record["Actions"] if a["SpecialKind"] == "LogActivity")
            fields = {k: v for k, v in call_fields(tag, "Ended", tag).items() if k != "State"}
            await api.call("POST", "DoAction", actionId=action, **fields)
    assert await asyncio.to_thread(counts, backends, partnercrmd_home.data_dir, tag) == one_each


# --- a real `partnercrmd serve`, killed with SIGKILL ---------------------------------------------


def add_book_cli(home: Path, kind: str, settings: dict[str, Any]) -> None:
    pairs = [f"{k}={v}" for k, v in settings.items()]
    result = run_cli(home, "books", "add", kind, "--name", kind, *[x for p in pairs for x in ("--set", p)])
    assert result.returncode == 0, describe(result)


def test_sigkill_while_entries_are_pending_logs_every_call_exactly_once(
    tmp_path: Path, backends: dict[str, Backend], proxies: dict[str, FaultProxy]
) -> None:
    home = tmp_path / "home"
    for kind in KINDS:
        add_book_cli(home, kind, book_settings(kind, backends, proxies))
    result = run_cli(home, "books", "set", "local", "--set", "create_activity_on_call_end=true")
    assert result.returncode == 0, describe(result)
    result = run_cli(home, "settings", "set", "search_deadline_ms=10000")  # a busy test machine: match every book
    assert result.returncode == 0, describe(result)
    data = Paths.under(home).data_dir
    daemon = Daemon(home)
    try:
        daemon.start()
        app_id = daemon.register_trusted()
        tags = [f"kill-{uuid.uuid4().hex[:8]}" for _ in range(8)]
        for tag in tags:  # match while every CRM answers
            daemon.call("POST", "CallEvent", app_id, **call_fields(tag, "Ringing", tag))
        # The CRMs write the first call but their answers are lost: the daemon is stuck between
        # the write and marking the entry done when it is killed; the other calls are still queued.
        for kind, proxy in proxies.items():
            proxy.lose_answers_after(WRITE_REQUEST[kind])
        for tag in tags:
            daemon.call("POST", "CallEvent", app_id, **call_fields(tag, "Ended", tag))
        wait_until(
            lambda: (
                all(proxy.lost for proxy in proxies.values())
                and logged(tryton_bodies(backends["tryton"]), tags[0]) == 1
                and logged(bottlecrm_bodies(backends["bottlecrm"]), tags[0]) == 1
            ),
            timeout=20,
            what="the first call written by both CRMs",
        )
        daemon.kill()  # SIGKILL
        pending = run_cli(home, "outbox", "list")
        assert pending.returncode == 0, describe(pending)
        assert "sending" in pending.stdout and "pending" in pending.stdout, pending.stdout
        for proxy in proxies.values():
            proxy.lose_answers_after(None)
        daemon.start()

        def all_logged() -> bool:
            return all(counts(backends, data, tag) == {"tryton": 1, "bottlecrm": 1, "local": 1} for tag in tags)

        def outbox_empty() -> str | None:
            listing = run_cli(home, "outbox", "list", "--all").stdout
            return listing if "0 pending, 0 sending" in listing and "0 failed" in listing else None

        wait_until(all_logged, timeout=60, interval=0.3, what="every call logged once in every book")
        # A call can be in its CRM before its entry is marked done (the answer lost, then the mark read back on
        # the next try, which may follow a retry delay): wait for the outbox to empty, then check nothing doubled.
        wait_until(outbox_empty, timeout=90, interval=0.5, what="every outbox entry done")
        time.sleep(1.5)
        assert all_logged()  # and nothing arrives twice later
    finally:
        daemon.close()
        for proxy in proxies.values():
            proxy.lose_answers_after(None)
