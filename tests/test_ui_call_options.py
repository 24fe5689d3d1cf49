"""The "Calls" fieldset of an address book's page over HTTP: each call option set through the form, read back
from GET AddressBooks and the vault, applied to the next CallEvent at once; bad values and forged posts refused."""

from __future__ import annotations

import asyncio
import html as html_lib
import re
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import BookConfig, read_books
from partnercrmd.testing import ApiSession, RecordingOpener, configure_book
from tests import controlled_addin
from tests.ui_support import Client, csrf_of, log_in, page_text, post_form

CHRIS = "571-441-5956"
"""A sample contact of the embedded local book (Chris Huffman)."""
LOCAL_FORM = {"o.name": "Local address book", "o.priority": "10", "o.enabled": ["0", "1"], "s.seed_samples": "1"}
"""The rest of the local book's form as the browser posts it (its own fields unchanged)."""
CALL_LABELS = (
    "Open the caller's record",
    "Which record opens",
    "Show the record's recent activities during a call",
    "Log each call in this address book when it ends",
    "Subject of a logged call",
    "Details of a logged call",
)


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("controlled", controlled_addin)]


async def stored(app: web.Application, book_id: str = "local") -> BookConfig:
    doc = await asyncio.to_thread(app[appkeys.VAULT].read)
    (book,) = [b for b in read_books(doc) if b.id == book_id]
    return book


async def listed(api: ApiSession, book_id: str = "local") -> dict[str, Any]:
    """The book as GET AddressBooks lists it."""
    (book,) = [b for b in await api.call("GET", "AddressBooks") if b["AddinId"] == book_id]
    return dict(book)


def call_event(call_id: str, state: str, **more: Any) -> dict[str, Any]:
    return {
        "CallId": call_id,
        "State": state,
        "Direction": "Inbound",
        "CallerNumber": CHRIS,
        "CallerName": "Chris Huffman",
        "CalledNumber": "858-283-4891",
        "StartTimeUtc": "2026-11-25T14:03:00Z",
        **more,
    }


def labelled_controls(page: str) -> dict[str, str]:
    """Label text -> the id of the control it names, for the labels of the Calls fieldset."""
    found = {}
    for target, text in re.findall(r'<label[^>]*for="([^"]+)"[^>]*>(.*?)</label>', page, re.S):
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip()
        if text in CALL_LABELS:
            assert f'id="{target}"' in page, f"label {text!r} names no control"
            found[text] = target
    return found


async def test_the_calls_fieldset_shows_every_option_labelled_with_the_stored_values(
    partnercrmd_client: Client, api: ApiSession
) -> None:
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, "/ui/books/local")
    assert "<legend>Calls</legend>" in page
    assert set(labelled_controls(page)) == set(CALL_LABELS)  # the local book can show and log activities
    assert re.search(r'<option value="Never" selected>Never</option>', page)
    assert re.search(r'<option value="Single" selected>', page)
    assert 'id="field-o-create_activity_on_call_end" name="o.create_activity_on_call_end" value="1">' in page
    assert 'placeholder="$kind call: $caller -&gt; $called"' in page  # the default subject
    book = await listed(api)
    assert (book["AutoPopOption"], book["ShowActivityOnCall"], book["CreateActivityOnCallEnd"]) == (
        "Never",
        False,
        False,
    )


async def test_each_call_option_set_through_the_form_is_stored_listed_and_applied_at_once(
    partnercrmd_client: Client, api: ApiSession, partnercrmd_opener: RecordingOpener
) -> None:
    app = partnercrmd_client.app
    await log_in(partnercrmd_client)
    fields = {
        **LOCAL_FORM,
        "o.auto_pop": "OnRinging",
        "o.auto_pop_match": "Best",
        "o.show_activity_on_call": ["0", "1"],
        "o.create_activity_on_call_end": ["0", "1"],
        "o.activity_subject": "Call with $caller_name ($duration)",
        "o.activity_body": "Talked to $caller on $start.\r\n$notes",
    }
    saved = await post_form(partnercrmd_client, "/ui/books/local", fields)
    assert saved.status == 303, await saved.text()
    assert saved.headers["Location"] == "/ui/books/local?saved=1"

    book = await listed(api)
    assert (book["AutoPopOption"], book["ShowActivityOnCall"], book["CreateActivityOnCallEnd"]) == (
        "OnRinging",
        True,
        True,
    )
    config = await stored(app)
    assert config.auto_pop_match == "Best"
    assert config.activity_subject == "Call with $caller_name ($duration)"
    assert config.activity_body == "Talked to $caller on $start.\n$notes"  # the browser's CRLF kept as LF
    assert config.settings["seed_samples"] is True and config.name == "Local address book"

    page = await page_text(partnercrmd_client, "/ui/books/local?saved=1")
    assert '<option value="OnRinging" selected>' in page and '<option value="Best" selected>' in page
    assert 'name="o.show_activity_on_call" value="1" checked>' in page
    assert 'value="Call with $caller_name ($duration)"' in page
    assert ">Talked to $caller on $start.\n$notes</textarea>" in page

    # The running daemon follows at once: Ringing pops the record, Ended logs the call with the book's templates.
    ringing = await api.call("POST", "CallEvent", **call_event("form-1", "Ringing"))
    assert ringing["Popped"].startswith("local/") and len(partnercrmd_opener.urls) == 1
    (matches,) = ringing["Matches"]
    assert "Activities" in matches["Records"][0]  # ShowActivityOnCall
    await api.call("POST", "CallEvent", **call_event("form-1", "Ended", DurationSeconds=61, Notes="Quote"))
    activity = await logged_activity(api)
    assert activity["Subject"] == "Call with Chris Huffman (1:01)"
    assert activity["Body"].endswith("Talked to 571-441-5956 [Chris Huffman] on 2026-11-25 14:03:00 UTC.\nQuote")

    # Unticking the boxes (the browser then posts the hidden "0" only) and OnAnswer: stored, listed and in force.
    cleared = {
        **fields,
        "o.auto_pop": "OnAnswer",
        "o.auto_pop_match": "Single",
        "o.show_activity_on_call": "0",
        "o.create_activity_on_call_end": "0",
        "o.activity_subject": "",
        "o.activity_body": "",
    }
    assert (await post_form(partnercrmd_client, "/ui/books/local", cleared)).status == 303
    book = await listed(api)
    assert (book["AutoPopOption"], book["ShowActivityOnCall"], book["CreateActivityOnCallEnd"]) == (
        "OnAnswer",
        False,
        False,
    )
    config = await stored(app)
    assert (config.auto_pop_match, config.activity_subject, config.activity_body) == ("Single", "", "")
    ringing = await api.call("POST", "CallEvent", **call_event("form-2", "Ringing"))
    assert ringing["Popped"] == "" and len(partnercrmd_opener.urls) == 1  # OnAnswer: not on Ringing
    answered = await api.call("POST", "CallEvent", **call_event("form-2", "Answered"))
    assert answered["Popped"].startswith("local/") and len(partnercrmd_opener.urls) == 2
    assert "Activities" not in answered["Matches"][0]["Records"][0]  # ShowActivityOnCall off
    ended = await api.call("POST", "CallEvent", **call_event("form-2", "Ended", DurationSeconds=5))
    assert ended["Logging"] == []  # no longer logged


async def logged_activity(api: ApiSession) -> dict[str, Any]:
    """The one activity of Chris Huffman's record, once the outbox has written it."""
    for _ in range(200):
        collections = await api.call("POST", "Search", query=CHRIS, includeActivities="true")
        activities = collections[0]["Records"][0]["Activities"]
        if activities:
            (activity,) = activities
            return dict(activity)
        await asyncio.sleep(0.05)
    raise AssertionError("the call was not logged within 10 s")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("o.auto_pop", "Sometimes", "'Open the caller's record' must be one of: Never (Never)"),
        ("o.auto_pop_match", "Worst", "'Which record opens' must be Single or Best; got 'Worst'"),
        ("o.activity_subject", "S" * 256, "The subject of a logged call can be at most 255 characters"),
        ("o.activity_body", "B" * 2001, "The details of a logged call can be at most 2000 characters"),
    ],
)
async def test_a_bad_value_is_refused_with_a_message_and_the_form_keeps_what_was_typed(
    partnercrmd_client: Client, api: ApiSession, field: str, value: str, message: str
) -> None:
    app = partnercrmd_client.app
    before = await stored(app)
    await log_in(partnercrmd_client)
    typed = {
        **LOCAL_FORM,
        "o.name": "Renamed book",
        "o.auto_pop": "OnAnswer",
        "o.auto_pop_match": "Best",
        "o.create_activity_on_call_end": ["0", "1"],
        "o.activity_subject": "Typed subject $caller",
        "o.activity_body": "Typed body\r\n$notes",
        field: value,
    }
    refused = await post_form(partnercrmd_client, "/ui/books/local", typed)
    text = await refused.text()
    assert refused.status == 400
    assert message in html_lib.unescape(text)
    assert 'value="Renamed book"' in text  # nothing typed is lost
    assert 'name="o.create_activity_on_call_end" value="1" checked>' in text
    if field != "o.auto_pop":
        assert '<option value="OnAnswer" selected>' in text
    if field != "o.activity_subject":
        assert 'value="Typed subject $caller"' in text
    if field != "o.activity_body":
        assert ">Typed body\n$notes</textarea>" in text
    if field.startswith("o.activity_"):
        assert value in text  # even the refused (too long) text is shown again, to be shortened
    assert await stored(app) == before  # nothing saved
    assert (await listed(api))["AutoPopOption"] == "Never"


async def test_books_that_cannot_log_calls_show_auto_pop_only_and_keep_the_rest(
    partnercrmd_client: Client, api: ApiSession
) -> None:
    app = partnercrmd_client.app
    unlock = {"vipcrm": {"code_id": "test", "at": "2026-01-01T00:00:00+00:00"}}  # as `partnercrmd unlock` records it
    await asyncio.to_thread(app[appkeys.VAULT].update, lambda doc: doc.setdefault("unlocked", {}).update(unlock))
    book_id = await configure_book(app, "vipcrm", api_token="t0ken", name="VIP")  # searches only
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, f"/ui/books/{book_id}")
    assert set(labelled_controls(page)) == {"Open the caller's record", "Which record opens"}
    assert "This address book cannot log calls." in page
    assert "o.activity_subject" not in page and "o.create_activity_on_call_end" not in page
    form = {"o.name": "VIP", "o.priority": "30", "o.enabled": ["0", "1"], "o.auto_pop": "OnAnswer"}
    # Options the form does not show are not taken from a post either.
    forged = {**form, "o.create_activity_on_call_end": "1", "o.activity_subject": "Forged"}
    saved = await post_form(partnercrmd_client, f"/ui/books/{book_id}", forged)
    assert saved.status == 303, await saved.text()
    config = await stored(app, book_id)
    assert (config.auto_pop, config.create_activity_on_call_end, config.activity_subject) == ("OnAnswer", False, "")
    assert (await listed(api, book_id))["AutoPopOption"] == "OnAnswer"


async def test_the_calls_options_need_the_session_and_its_token(partnercrmd_client: Client) -> None:
    app = partnercrmd_client.app
    before = await stored(app)
    fields = {**LOCAL_FORM, "o.auto_pop": "OnRinging", "o.create_activity_on_call_end": ["0", "1"]}
    await log_in(partnercrmd_client)
    token = csrf_of(await page_text(partnercrmd_client, "/ui/books/local"))
    for extra in ({}, {"csrf": "not-the-token"}):
        response = await partnercrmd_client.post("/ui/books/local", data={**fields, **extra}, allow_redirects=False)
        assert response.status == 403
        assert "This form has expired" in await response.text()
    partnercrmd_client.session.cookie_jar.clear()  # the token alone, as a forged cross-site form would hold it
    response = await partnercrmd_client.post("/ui/books/local", data={**fields, "csrf": token}, allow_redirects=False)
    assert response.status == 403
    assert await stored(app) == before


async def test_a_disabled_book_still_shows_what_its_integration_can_do(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    assert (await post_form(partnercrmd_client, "/ui/books/local/enabled", {"enabled": "0"})).status == 303
    page = await page_text(partnercrmd_client, "/ui/books/local")
    assert "Disabled" in page and set(labelled_controls(page)) == set(CALL_LABELS)
    fields = {**LOCAL_FORM, "o.enabled": "0", "o.create_activity_on_call_end": ["0", "1"], "o.auto_pop": "OnAnswer"}
    assert (await post_form(partnercrmd_client, "/ui/books/local", fields)).status == 303
    config = await stored(partnercrmd_client.app)
    assert (config.enabled, config.create_activity_on_call_end, config.auto_pop) == (False, True, "OnAnswer")
