"""Live call events through `POST CallEvent` of the real daemon: every state, in order, to each book that takes them.

The `feed` add-in (live_call_addins.py) stands for a CRM: it records what it is told and can be
down, hang or refuse at any moment. The embedded local book shows the call on the contact's page.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import change_book
from partnercrmd.call_log.live_events import LiveEventPolicy
from partnercrmd.cli import main as cli_main
from partnercrmd.testing import ApiSession, RecordingOpener, configure_book
from partnercrmd.vault_sync import reload_vault
from tests import live_call_addins as feed
from tests.test_call_events import event
from tests.ui_support import Client, log_in, page_text, post_form

STATES = ["Ringing", "Answered", "Held", "Resumed", "Ended"]
CHRIS = feed.CHRIS_NUMBER
SEB = "858-283-4891"
WINDOW = 1.5


@pytest.fixture
def partnercrmd_addins() -> Iterator[list[tuple[str, object]]]:
    feed.reset()
    yield [("live-call-addins", feed.LiveCallAddins())]
    feed.reset()


@pytest.fixture
def partnercrmd_app(partnercrmd_app: web.Application) -> web.Application:
    partnercrmd_app[appkeys.LIVE_EVENT_POLICY] = LiveEventPolicy(
        attempt_seconds=0.5, window_seconds=WINDOW, first_retry_seconds=0.1, max_retry_seconds=0.2
    )
    return partnercrmd_app


async def received(channel: str, count: int, within: float = 10.0) -> list[Any]:
    """The events `channel` was told, once there are `count` of them."""
    deadline = time.monotonic() + within
    while len(feed.RECEIVED.get(channel, [])) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{channel} got {[e.state for e in feed.RECEIVED.get(channel, [])]}")
        await asyncio.sleep(0.02)
    return list(feed.RECEIVED[channel])


async def set_book(app: web.Application, ref: str, **options: Any) -> None:
    await asyncio.to_thread(change_book, app[appkeys.VAULT], app[appkeys.HOST], ref, options)
    await reload_vault(app)


async def test_every_state_reaches_the_book_in_order_with_the_call_and_its_matched_record(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    book = await configure_book(partnercrmd_app, "feed", channel="a", name="Feed A")
    for state in STATES:
        more: dict[str, Any] = {"DurationSeconds": 95} if state == "Ended" else {}
        await api.call("POST", "CallEvent", **event("live-1", state, CallerNumber="+1 571-441-5956", **more))
    got = await received("a", 5)
    assert [str(e.state) for e in got] == STATES
    assert {e.call_id for e in got} == {"live-1"}
    first, last = got[0], got[-1]
    assert (first.direction, first.caller_number, first.caller_name, first.called_number) == (
        "Inbound",
        "+1 571-441-5956",
        "Chris Huffman",
        SEB,
    )
    assert first.other_number == "+1 571-441-5956" and first.other_number_e164 == "+15714415956"
    assert (first.contact_id, first.contact_name) == ("feed-chris", "Chris Huffman")
    assert first.started is not None and first.started.isoformat() == "2026-11-25T14:03:00+00:00"
    assert last.duration_seconds == 95 and all(e.time.tzinfo is not None for e in got)
    assert [b["LiveCallEvents"] for b in await api.call("GET", "AddressBooks") if b["AddinId"] == book] == [True]


async def test_a_state_reported_twice_or_after_the_end_is_told_once(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await configure_book(partnercrmd_app, "feed", channel="a", name="Feed A")
    for state in ["Ringing", "Ringing", "Answered", "Ended", "Answered", "Ended"]:
        await api.call("POST", "CallEvent", **event("twice-1", state))
    await received("a", 3)
    await asyncio.sleep(0.3)
    assert [str(e.state) for e in feed.RECEIVED["a"]] == ["Ringing", "Answered", "Ended"]


async def test_a_state_missed_while_the_crm_is_down_arrives_on_retry_in_order(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await configure_book(partnercrmd_app, "feed", channel="a", name="Feed A")
    await api.call("POST", "CallEvent", **event("down-1", "Ringing"))
    await api.call("POST", "CallEvent", **event("down-1", "Answered"))
    await received("a", 2)
    feed.MODES["a"] = "down"
    await api.call("POST", "CallEvent", **event("down-1", "Held"))
    await api.call("POST", "CallEvent", **event("down-1", "Resumed"))  # waits behind Held: order is kept
    deadline = time.monotonic() + 5
    while feed.ATTEMPTS["a"] < 4:  # Held is tried more than once meanwhile
        assert time.monotonic() < deadline, feed.ATTEMPTS
        await asyncio.sleep(0.02)
    feed.MODES["a"] = "up"  # back within the window
    await api.call("POST", "CallEvent", **event("down-1", "Ended"))
    assert [str(e.state) for e in await received("a", 5)] == STATES


async def test_a_state_past_the_window_is_dropped_and_logged_once_and_the_call_goes_on(
    api: ApiSession, partnercrmd_app: web.Application, caplog: pytest.LogCaptureFixture
) -> None:
    await configure_book(partnercrmd_app, "feed", channel="a", name="Feed A")
    await api.call("POST", "CallEvent", **event("late-1", "Ringing"))
    await api.call("POST", "CallEvent", **event("late-1", "Answered"))
    await received("a", 2)
    feed.MODES["a"] = "down"
    caplog.set_level(logging.DEBUG, logger="partnercrmd.call_log.live_events")
    await api.call("POST", "CallEvent", **event("late-1", "Held"))
    await asyncio.sleep(WINDOW + 0.5)  # the CRM stays down longer than the window
    feed.MODES["a"] = "up"
    await api.call("POST", "CallEvent", **event("late-1", "Resumed"))
    await api.call("POST", "CallEvent", **event("late-1", "Ended"))
    assert [str(e.state) for e in await received("a", 4)] == ["Ringing", "Answered", "Resumed", "Ended"]
    dropped = [r for r in caplog.records if r.levelno >= logging.WARNING and "dropped" in r.getMessage()]
    assert len(dropped) == 1, [r.getMessage() for r in dropped]
    assert re.search(r"late-1: live Held event for address book feed-a dropped", dropped[0].getMessage())
    assert "the CRM is down" in dropped[0].getMessage()


async def test_the_call_event_answer_does_not_wait_for_a_crm_that_hangs(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    # Each attempt may now take 5 s: an answer that waited for one would take that long.
    live = partnercrmd_app[appkeys.CALLS].live
    live.policy = replace(live.policy, attempt_seconds=5.0, window_seconds=10.0)
    await configure_book(partnercrmd_app, "feed", channel="hangs", name="Hangs")
    await configure_book(partnercrmd_app, "feed", channel="a", name="Feed A")
    await api.call("POST", "CallEvent", **event("warm-up", "Ringing"))  # first search of each book done
    feed.MODES["hangs"] = "hang"
    timings = []
    for state in STATES:
        started = time.perf_counter()
        await api.call("POST", "CallEvent", **event("hang-1", state))
        timings.append(time.perf_counter() - started)
    assert max(timings) < 2.0, timings
    # the other book is not held up by the hanging one, which is still on its first attempt
    assert [str(e.state) for e in (await received("a", 6))[1:]] == STATES
    assert [e.call_id for e in feed.RECEIVED["hangs"]] == ["warm-up"] and feed.ATTEMPTS["hangs"] == 2


async def test_a_book_without_the_hook_or_with_the_option_off_is_untouched(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    no_hook = await configure_book(partnercrmd_app, "no-hook", channel="nohook", name="No hook")
    off = await configure_book(partnercrmd_app, "feed", channel="off", name="Off")
    assert cli_main(["books", "set", "Off", "--set", "call_events=off"]) == 0
    await reload_vault(partnercrmd_app)
    await configure_book(partnercrmd_app, "feed", channel="a", name="Feed A")
    books = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}
    assert books[no_hook]["LiveCallEvents"] is False and "LiveCallEvents" not in books[no_hook]["Type"]["Capabilities"]
    assert books[off]["LiveCallEvents"] is False and "LiveCallEvents" in books[off]["Type"]["Capabilities"]
    for state in STATES:
        await api.call("POST", "CallEvent", **event("skip-1", state))
    await received("a", 5)
    assert "nohook" not in feed.ATTEMPTS and "off" not in feed.ATTEMPTS
    assert cli_main(["books", "set", "Off", "--set", "call_events=on"]) == 0
    await reload_vault(partnercrmd_app)
    await api.call("POST", "CallEvent", **event("skip-2", "Ringing"))
    assert [e.call_id for e in await received("off", 1)] == ["skip-2"]


async def test_a_failing_hook_never_changes_the_end_of_call_log(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    for channel, mode in (("broken", "broken"), ("hangs", "hang")):
        feed.MODES[channel] = mode
        book = await configure_book(partnercrmd_app, "feed", channel=channel, name=channel.title())
        await set_book(partnercrmd_app, book, create_activity_on_call_end=True)
    for state in STATES:
        more = {"DurationSeconds": 95, "Notes": "Wants a quote"} if state == "Ended" else {}
        answer = await api.call("POST", "CallEvent", **event("log-1", state, **more))
    assert sorted(entry["AddinId"] for entry in answer["Logging"]) == ["broken", "hangs"]
    await api.call("POST", "CallEvent", **event("log-1", "Ended", DurationSeconds=95))  # reported twice
    deadline = time.monotonic() + 10
    while (len(feed.LOGGED.get("broken", [])), len(feed.LOGGED.get("hangs", []))) != (1, 1):
        assert time.monotonic() < deadline, feed.LOGGED
        await asyncio.sleep(0.05)
    await asyncio.sleep(WINDOW + 0.3)  # every live event has been dropped by now
    for channel in ("broken", "hangs"):
        [activity] = feed.LOGGED[channel]
        assert activity.duration_seconds == 95 and "Wants a quote" in activity.body
    assert "broken" not in feed.RECEIVED and "hangs" not in feed.RECEIVED


async def test_the_local_book_shows_the_call_on_the_contacts_page_while_it_lasts(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    await set_book(partnercrmd_app, "local", auto_pop="OnRinging")
    await api.call("POST", "CallEvent", **event("page-1", "Ringing"))
    (url,) = partnercrmd_opener.urls
    path = url.split(str(api.client.port), 1)[1]

    async def line() -> str:
        html = await (await api.client.get(path)).text()
        found = re.search(r'<p class="live-call" role="status">([^<]*)</p>', html)
        return found.group(1) if found else ""

    async def shows(text: str) -> None:
        deadline = time.monotonic() + 5
        while await line() != text:
            assert time.monotonic() < deadline, await line()
            await asyncio.sleep(0.05)

    await shows("On a call with Chris Huffman (571-441-5956): ringing")
    await api.call("POST", "CallEvent", **event("page-1", "Answered"))
    await shows("On a call with Chris Huffman (571-441-5956): talking")
    await api.call("POST", "CallEvent", **event("page-1", "Held"))
    await shows("On a call with Chris Huffman (571-441-5956): on hold")
    assert '<meta http-equiv="refresh" content="5">' in await (await api.client.get(path)).text()
    await api.call("POST", "CallEvent", **event("page-1", "Ended", DurationSeconds=5))
    await shows("")
    assert "http-equiv" not in await (await api.client.get(path)).text()  # the call is over: no more reloading


async def test_the_option_is_on_the_books_page_and_the_viewer_shows_the_capability(
    partnercrmd_client: Client, api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, "/ui/books/local")
    assert re.search(r'<input type="checkbox" id="field-o-call_events" name="o.call_events" value="1" checked', page)
    assert 'for="field-o-call_events"' in page
    form = {"o.name": "Local address book", "o.priority": "10", "o.enabled": ["0", "1"], "s.seed_samples": "1"}
    saved = await post_form(partnercrmd_client, "/ui/books/local", {**form, "o.call_events": "0"})
    assert saved.status == 303, await saved.text()
    [local] = [b for b in await api.call("GET", "AddressBooks") if b["AddinId"] == "local"]
    assert local["LiveCallEvents"] is False and "LiveCallEvents" in local["Type"]["Capabilities"]
    doc = await asyncio.to_thread(partnercrmd_app[appkeys.VAULT].read)
    assert doc["books"]["local"]["call_events"] is False
    page = await page_text(partnercrmd_client, "/ui/books/local?saved=1")
    assert re.search(r'name="o.call_events" value="1" aria-describedby', page)  # shown, unticked
    viewer = await page_text(partnercrmd_client, "/ui/viewer?q=live+call+events")
    assert "Live call events" in viewer and "Local address book" in viewer and "Feed" in viewer
    assert "No hook" in viewer  # the viewer lists what integrations declare; its books get no events (above)


async def test_a_book_that_answers_unsupported_is_not_asked_again(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    feed.MODES["never"] = "unsupported"
    await configure_book(partnercrmd_app, "feed", channel="never", name="Never")
    await configure_book(partnercrmd_app, "feed", channel="a", name="Feed A")
    for call_id in ("u-1", "u-2"):
        for state in STATES:
            await api.call("POST", "CallEvent", **event(call_id, state))
    await received("a", 10)
    assert feed.ATTEMPTS["never"] == 1
