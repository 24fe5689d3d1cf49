"""The Tryton add-in, installed as its own distribution, against a real Tryton server, through the daemon's HTTP API.

What the add-in writes (notes, parties) is read back with the tests' own JSON-RPC client (`RawTryton`).
"""

from __future__ import annotations

import asyncio
import base64
import re
import sqlite3
import time
from importlib.metadata import entry_points
from typing import Any

import partnercrmd_tryton
import pytest
from aiohttp import web
from partnercrmd_tryton import TRYTON
from tryton_seed import CLERK, Tryton
from tryton_testserver import ADMIN_PASSWORD, DATABASE

from partnercrmd.testing import ApiSession, RecordingOpener, action, addin_host, configure_book, names, search

pytest_plugins = ["tryton_fixtures"]

# --- helpers ------------------------------------------------------------------------------------------


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {field["DescriptorId"]: field["Value"] for field in record["Fields"]}


TEST_DEADLINE_MS = 10_000
"""The tests check what is found, not how fast: a loaded CI machine may need more than the default 1.5 s
for a book's first search (Tryton's password check alone takes about half a second)."""


async def book(app: web.Application, tryton: Tryton, **changes: Any) -> str:
    return await configure_book(app, "tryton", **tryton.settings(**changes))


# --- discovery ----------------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point_and_listed_with_its_capabilities(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    found = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found["tryton"].value == "partnercrmd_tryton"
    info = addin_host(partnercrmd_app).addins["tryton"]
    assert (info.distribution, info.version) == ("partnercrmd-tryton", partnercrmd_tryton.__version__)
    assert not info.builtin and info.error is None
    assert addin_host(partnercrmd_app).integration("tryton") is TRYTON
    assert TRYTON.config_field("password") is not None and TRYTON.config_field("password").secret  # type: ignore[union-attr]

    book_id = await book(partnercrmd_app, tryton, name="ERP")
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert (listed["Name"], listed["CrmAddinTypeId"], listed["Status"]) == ("ERP", "tryton", "Ready")
    assert listed["Type"]["TypeFullName"] == "Tryton ERP"
    assert listed["Type"]["Capabilities"] == [
        "CreateContact", "LogActivity", "Pictures", "Pop", "PopInEditMode",
        "SearchByName", "SearchByNumber", "ShowActivities", "UpdateContact",
    ]  # fmt: skip


# --- search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "+44 20 7946 0958",
        "02079460958",
        "0044 20 7946 0958",
        "(0)20-7946-0958",
        "tel:+44-20-7946-0958",
        "020 7946 0958",
    ],
)
async def test_a_caller_is_found_whatever_the_number_format(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton, query: str
) -> None:
    # Dana's phone was entered as "+44 (0)20 7946-0958"; Tryton keeps "+44 20 7946 0958" and E.164.
    book_id = await book(partnercrmd_app, tryton)
    erp = (await search(api, query, timeoutMs=TEST_DEADLINE_MS))[book_id]
    assert erp["ExceptionText"] == ""
    assert names(erp) == ["Dana Whitfield"]
    shown = fields(erp["Records"][0])
    assert shown["BusinessPhone"] == "+44 20 7946 0958"  # as Tryton stores it
    assert shown["Email"] == "dana.whitfield@northwind.example"
    assert shown["Url"] == "https://northwind.example/dana"
    assert shown["Party code"]  # Tryton's party code, as it is


async def test_mobile_and_fax_numbers_are_searched_and_strangers_find_no_one(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton)
    harold = (await search(api, "001 212 736 5000", timeoutMs=TEST_DEADLINE_MS))[book_id]
    assert names(harold) == ["Harold Finch"] and fields(harold["Records"][0])["MobilePhone"] == "+1 212-736-5000"
    zoe = (await search(api, "0033 (0)1 42 68 53 00", timeoutMs=TEST_DEADLINE_MS))[book_id]
    assert names(zoe) == ["Zoë Lefèvre"] and fields(zoe["Records"][0])["Fax"] == "+33 1 42 68 53 00"
    assert fields(zoe["Records"][0])["Address"] == "12 rue de Rivoli\n75004 Paris"
    stranger = (await search(api, "+44 20 7946 0999", timeoutMs=TEST_DEADLINE_MS))[book_id]
    assert stranger["Records"] == [] and stranger["ExceptionText"] == ""


async def test_name_search_needs_every_word_in_name_or_contact_values(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton)
    assert names((await search(api, "whitfield", timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "WHIT dana", timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "northwind.example", timeoutMs=TEST_DEADLINE_MS))[book_id]) == [
        "Dana Whitfield"
    ]  # her email
    assert names((await search(api, "Lefèvre", timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Zoë Lefèvre"]
    assert names((await search(api, "dana finch", timeoutMs=TEST_DEADLINE_MS))[book_id]) == []
    assert (
        names((await search(api, "100%", timeoutMs=TEST_DEADLINE_MS))[book_id]) == []
    )  # wildcards are taken literally


async def test_pictures_are_the_party_avatars(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    admin = tryton.admin()
    admin.call("model.ir.avatar.create", [{"resource": f"party.party,{tryton.ids['harold']}", "image": png}])
    book_id = await book(partnercrmd_app, tryton)
    harold = (await search(api, "Harold", includePictures="true", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    assert fields(harold)["Picture"] == "data:image/png;base64," + base64.b64encode(png).decode()
    dana = (await search(api, "Dana", includePictures="true", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    assert "Picture" not in fields(dana)
    assert "Picture" not in fields((await search(api, "Harold", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0])


# --- popping ------------------------------------------------------------------------------------------


async def test_open_and_edit_pop_the_party_in_the_web_client(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton)
    dana = (await search(api, "+44 20 7946 0958", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    await api.call("POST", "DoAction", actionId=action(dana, "OpenInEditMode"))
    party = f"#{DATABASE}/model/party.party/{tryton.ids['dana']}"  # sao's URL: #<database>/model/<model>/<id>
    assert partnercrmd_opener.urls == [f"{tryton.url}/{party}", f"{tryton.url}/{party}"]


async def test_a_separate_web_client_address_is_used_for_popping(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton, web_url="https://erp.example.com/sao/")
    harold = (await search(api, "Harold", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    await api.call("POST", "DoAction", actionId=action(harold, "Open"))
    assert partnercrmd_opener.urls == [
        f"https://erp.example.com/sao/#{DATABASE}/model/party.party/{tryton.ids['harold']}"
    ]


# --- call logging -------------------------------------------------------------------------------------


async def test_a_logged_call_is_a_note_on_the_party_in_tryton(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton)
    zoe = (await search(api, "+33 1 42 68 53 00", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    await api.call(
        "POST",
        "DoAction",
        actionId=action(zoe, "LogActivity"),
        Direction="Inbound",
        CallerNumber="+33 1 42 68 53 00",
        CallerName="Zoë Lefèvre",
        CalledNumber="201",
        StartTimeUtc="2026-11-25T14:03:00Z",
        DurationSeconds=125,
        Notes="Wants the quote by Friday.",
    )
    # Read back with Tryton's own protocol, not through the add-in.
    notes = tryton.admin().call(
        "model.ir.note.search_read",
        [("resource", "=", f"party.party,{tryton.ids['zoe']}")],
        0,
        None,
        [("id", "DESC")],
        ["message"],
    )
    message = notes[0]["message"]
    assert message.splitlines()[0] == "Incoming call: +33 1 42 68 53 00 [Zoë Lefèvre] -> 201"
    assert "Start: 2026-11-25 14:03:00 UTC" in message
    assert "Duration: 2:05" in message
    assert message.endswith("Wants the quote by Friday.")

    # The record's call history (ShowActivities / includeActivities) reads the notes back.
    zoe = (await search(api, "Zoë", includeActivities="true", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    [call] = zoe["Activities"]
    assert call["Subject"] == "Incoming call: +33 1 42 68 53 00 [Zoë Lefèvre] -> 201"
    assert (call["Direction"], call["StartTimeUtc"], call["DurationSeconds"]) == (
        "Inbound",
        "2026-11-25T14:03:00Z",
        125,
    )


async def test_a_user_without_write_access_to_notes_gets_a_clear_error(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton, username=CLERK, password="clerk-pass-2026")
    dana = (await search(api, "Dana", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    response = await api.request(
        "POST", "DoAction", actionId=action(dana, "LogActivity"), Direction="Outbound", CalledNumber="020 7946 0958"
    )
    assert response.status == 502
    body = await response.json()
    assert body["Message"] == 'Tryton refused model.ir.note.create: You are not allowed to access "Note".'
    assert body["Code"] == "invalid_auth"


async def test_with_call_logging_off_nothing_is_written(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton, log_calls=False)
    harold = (await search(api, "Harold", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    response = await api.request("POST", "DoAction", actionId=action(harold, "LogActivity"), Direction="Inbound")
    assert response.status == 422
    assert (await response.json())["Message"] == "Call logging is off for this address book (setting 'log_calls')."
    notes = tryton.admin().call("model.ir.note.search", [("resource", "=", f"party.party,{tryton.ids['harold']}")])
    assert notes == []


# --- creating and changing parties --------------------------------------------------------------------


async def test_a_new_contact_becomes_a_party_and_is_found_by_its_number(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton)
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book_id}/Contact",
        FirstName="Eamon",
        LastName="O'Neill",
        Phone="020 7946 0321",  # national form: sent to Tryton as +442079460321 (default region GB)
        Email="eamon.oneill@northwind.example",
        Notes="Met at the trade fair.",
    )
    assert created["DisplayText"] == "Eamon O'Neill"
    assert fields(created)["BusinessPhone"] == "+44 20 7946 0321"

    [party] = tryton.admin().call(
        "model.party.party.search_read",
        [("name", "=", "Eamon O'Neill")],
        0,
        None,
        None,
        ["id", "contact_mechanisms.type", "contact_mechanisms.value_compact"],
    )
    mechanisms = {(m["type"], m["value_compact"]) for m in party["contact_mechanisms."]}
    assert mechanisms == {("phone", "+442079460321"), ("email", "eamon.oneill@northwind.example")}
    [note] = tryton.admin().call(
        "model.ir.note.search_read", [("resource", "=", f"party.party,{party['id']}")], 0, None, None, ["message"]
    )
    assert note["message"] == "Met at the trade fair."

    for query in ("+44 (0)20 7946 0321", "0044 20 7946 0321"):
        assert names((await search(api, query, timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Eamon O'Neill"]


async def test_saving_a_record_changes_the_party(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    admin = tryton.admin()
    [pid] = admin.call(
        "model.party.party.create",
        [{"name": "Grace H", "contact_mechanisms": [["create", [{"type": "phone", "value": "+44 113 496 0000"}]]]}],
    )
    book_id = await book(partnercrmd_app, tryton)
    grace = (await search(api, "0113 496 0000", timeoutMs=TEST_DEADLINE_MS))[book_id]["Records"][0]
    saved = await api.call(
        "POST",
        "SaveRecord",
        RecordId=grace["UniqueId"],
        ContactName="Grace Hopper",
        Phone="0117 496 0123",
        Email="grace@example.com",
    )
    assert saved["DisplayText"] == "Grace Hopper"
    [party] = admin.call(
        "model.party.party.search_read", [("id", "=", pid)], 0, None, None, ["name", "contact_mechanisms.value_compact"]
    )
    assert party["name"] == "Grace Hopper"
    assert sorted(m["value_compact"] for m in party["contact_mechanisms."]) == ["+441174960123", "grace@example.com"]
    assert names((await search(api, "+44 117 496 0123", timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Grace Hopper"]
    assert names((await search(api, "+44 113 496 0000", timeoutMs=TEST_DEADLINE_MS))[book_id]) == []


async def test_a_number_tryton_rejects_is_explained(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton)
    response = await api.request(
        "POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", LastName="Nobody", Phone="555-0123"
    )
    assert response.status == 502
    body = await response.json()
    assert body["Code"] == "invalid_data"
    assert (
        body["Message"]
        == 'Tryton refused model.party.party.create: The phone number "555-0123" for party "Nobody" is not valid.'
    )


# --- failures -----------------------------------------------------------------------------------------


async def test_wrong_credentials_give_a_clear_exception_text_without_the_password(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    wrong = "not-the-password-2026"
    book_id = await book(partnercrmd_app, tryton, username=CLERK, password=wrong)
    erp = (await search(api, "+44 20 7946 0958", timeoutMs=TEST_DEADLINE_MS))[book_id]
    assert erp["Records"] == []
    assert erp["ExceptionText"] == (
        f"Tryton refused the user name or password of '{CLERK}' on database '{DATABASE}'; "
        "check the settings 'username' and 'password'."
    )
    # The refusal is remembered for a while: no second sign-in (Tryton slows and locks repeated failures).
    started = time.monotonic()
    again = (await search(api, "Dana", timeoutMs=TEST_DEADLINE_MS))[book_id]
    assert again["ExceptionText"] == erp["ExceptionText"] and time.monotonic() - started < 0.5
    assert wrong not in str(again) and ADMIN_PASSWORD not in str(again)


async def test_an_unknown_database_is_named(api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton) -> None:
    book_id = await book(partnercrmd_app, tryton, database="nosuchdb")
    assert (await search(api, "Dana", timeoutMs=TEST_DEADLINE_MS))[book_id]["ExceptionText"] == (
        f"The Tryton server at {tryton.url} has no database 'nosuchdb' (or no JSON-RPC there); "
        "check the settings 'url' and 'database'."
    )


async def test_a_server_stopped_mid_test_is_reported_within_the_deadline(
    api: ApiSession, partnercrmd_app: web.Application, disposable_tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, disposable_tryton)
    assert names((await search(api, "+44 20 7946 0958", timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Dana Whitfield"]

    disposable_tryton.server.stop()  # by PID
    started = time.monotonic()
    erp = (await search(api, "+44 20 7946 0958", timeoutMs=1500))[book_id]
    assert time.monotonic() - started < 3
    assert erp["Records"] == []
    assert re.fullmatch(
        rf"The Tryton server at {re.escape(disposable_tryton.url)} cannot be reached \(Connection refused\); "
        r"check the setting 'url' and that the server is running\.",
        erp["ExceptionText"],
    ), erp["ExceptionText"]
    assert (await search(api, "Dana", timeoutMs=1500))[book_id]["ExceptionText"] == erp["ExceptionText"]


async def test_an_expired_session_is_replaced_without_the_user_noticing(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    book_id = await book(partnercrmd_app, tryton)
    assert names((await search(api, "Dana", timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Dana Whitfield"]
    # Tryton ends idle sessions (5 minutes by default); deleting them on the server has the same effect.
    assert await asyncio.to_thread(count_sessions, tryton, delete=True) >= 1
    erp = (await search(api, "+44 20 7946 0958", timeoutMs=TEST_DEADLINE_MS))[book_id]
    assert erp["ExceptionText"] == "" and names(erp) == ["Dana Whitfield"]
    assert await asyncio.to_thread(count_sessions, tryton) == 1  # the add-in signed in again


async def test_a_sign_in_cut_short_by_the_deadline_still_completes_for_the_next_search(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton
) -> None:
    before = await asyncio.to_thread(count_sessions, tryton)
    book_id = await book(partnercrmd_app, tryton)
    first = (await search(api, "Dana", timeoutMs=50))[book_id]
    assert first["ExceptionText"] == "No answer within 0.05 s."
    assert names((await search(api, "Dana", timeoutMs=TEST_DEADLINE_MS))[book_id]) == ["Dana Whitfield"]
    assert await asyncio.to_thread(count_sessions, tryton) == before + 1  # one sign-in, not two


def count_sessions(tryton: Tryton, delete: bool = False) -> int:
    """How many sessions the server holds (deleting them all first when asked)."""
    db = sqlite3.connect(tryton.server.database_file, timeout=10)
    try:
        with db:
            if delete:
                return int(db.execute("DELETE FROM ir_session").rowcount)
            return int(db.execute("SELECT COUNT(*) FROM ir_session").fetchone()[0])
    finally:
        db.close()
