"""The call history window and `partnercrmd outbox`: what was called, matched and logged; retrying what failed."""

from __future__ import annotations

import asyncio

from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import change_book
from partnercrmd.call_log.store import OutboxEntry
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession, RecordingOpener
from partnercrmd.vault_sync import reload_vault
from tests.daemon_process import describe, error_line, run_cli
from tests.ui_support import csrf_of

CHRIS = "571-441-5956"


async def open_history(api: ApiSession, opener: RecordingOpener) -> str:
    await api.call("POST", "ShowWindow", window="callhistory")
    login = opener.urls[-1].split(str(api.client.port), 1)[1]
    page = await api.client.get(login)  # follows the redirect to /ui/callhistory with the session cookie
    assert page.status == 200, await page.text()
    assert str(page.url).endswith("/ui/callhistory")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    return await page.text()


async def lost_record_entry(app: web.Application) -> OutboxEntry:
    """An activity whose record was deleted from the CRM before it could be written: it fails for good."""
    entry = OutboxEntry(
        key="abcdef0123456789abcdef01",
        call_id="gone-1",
        book_id="local",
        contact_id="no-such-contact",
        subject="Incoming call: 555",
        body="Call reference: pcrmd-abcdef0123456789abcdef01",
        direction="Inbound",
        start_utc="2026-11-25T10:00:00+00:00",
        contact_name="Deleted Person",
    )
    await app[appkeys.OUTBOX].add(entry)
    store = app[appkeys.CALLS].store
    for _ in range(100):
        stored = await asyncio.to_thread(store.entry, entry.key)
        if stored is not None and stored.status == "failed":
            return stored
        await asyncio.sleep(0.05)
    raise AssertionError("the entry did not fail")


async def test_call_history_shows_calls_matches_and_where_they_were_logged(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    await asyncio.to_thread(
        change_book,
        partnercrmd_app[appkeys.VAULT],
        partnercrmd_app[appkeys.HOST],
        "local",
        {"create_activity_on_call_end": True, "auto_pop": "OnRinging"},
    )
    await reload_vault(partnercrmd_app)
    common = {"Direction": "Inbound", "CallerNumber": CHRIS, "CalledNumber": "201", "CalledName": "Desk"}
    await api.call("POST", "CallEvent", CallId="hist-a", State="Ringing", **common)
    await api.call("POST", "CallEvent", CallId="hist-a", State="Ended", DurationSeconds=75, **common)
    await api.call(
        "POST", "CallEvent", CallId="hist-b", State="Missed", Direction="Inbound", CallerNumber="+1 202 555 0100"
    )
    for _ in range(100):
        entries = await asyncio.to_thread(partnercrmd_app[appkeys.CALLS].store.entries_of_call, "hist-a")
        if entries and entries[0].status == "done":
            break
        await asyncio.sleep(0.05)
    html = await open_history(api, partnercrmd_opener)
    assert "Chris Huffman" in html and "popped" in html  # matched and popped
    assert "Local address book: done" in html  # logged where
    assert "1:15" in html and "Missed" in html and "no match" in html
    assert "Nothing is waiting" in html


async def test_failed_entries_are_listed_with_a_retry_button_that_needs_the_session(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    failed = await lost_record_entry(partnercrmd_app)
    html = await open_history(api, partnercrmd_opener)
    assert "Deleted Person" in html and "failed" in html and "no longer exists" in html
    csrf = csrf_of(html)
    forged = await api.client.post("/ui/callhistory/retry", data={"key": failed.key, "csrf": "forged"})
    assert forged.status == 403
    retried = await api.client.post("/ui/callhistory/retry", data={"key": failed.key, "csrf": csrf})
    assert retried.status == 200 and "1 entry is being tried again" in await retried.text()
    store = partnercrmd_app[appkeys.CALLS].store
    for _ in range(100):
        again = await asyncio.to_thread(store.entry, failed.key)
        if again is not None and again.attempts == 2 and again.status == "failed":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"not retried: {again}")
    bad = await api.client.post("/ui/callhistory/retry", data={"key": "'; drop", "csrf": csrf})
    assert bad.status == 400


async def test_the_history_page_needs_a_session(api: ApiSession) -> None:
    response = await api.client.get("/ui/callhistory")
    assert response.status == 403


async def test_outbox_commands_list_and_retry(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_home: Paths
) -> None:
    failed = await lost_record_entry(partnercrmd_app)
    home = partnercrmd_home.config_dir
    listed = await asyncio.to_thread(run_cli, home, "outbox", "list")
    assert listed.returncode == 0, describe(listed)
    assert failed.key[:12] in listed.stdout and "gone-1" in listed.stdout and "1 failed" in listed.stdout
    retried = await asyncio.to_thread(run_cli, home, "outbox", "retry", failed.key[:12])
    assert retried.returncode == 0, describe(retried)
    assert "1 entry is tried again now" in retried.stdout
    store = partnercrmd_app[appkeys.CALLS].store
    for _ in range(100):  # the running daemon picks the retry up from the database
        again = await asyncio.to_thread(store.entry, failed.key)
        if again is not None and again.attempts == 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the daemon did not retry")
    nothing = await asyncio.to_thread(run_cli, home, "outbox", "retry")
    assert nothing.returncode == 2 and "--all" in error_line(nothing)
    bad = await asyncio.to_thread(run_cli, home, "outbox", "retry", "zz%")
    assert bad.returncode == 2 and "not an outbox key" in error_line(bad)
