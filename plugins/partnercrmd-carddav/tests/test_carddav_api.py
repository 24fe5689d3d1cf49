"""The CardDAV add-in, installed as its own distribution, driven through a real daemon's HTTP API against Radicale.

Everything the add-in writes is read back from Radicale with plain HTTP
(`RawDav`), never through the add-in.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from importlib.metadata import entry_points
from typing import Any

import partnercrmd_carddav.connector
import pytest
from aiohttp import web
from carddav_seed import seed_book
from carddav_servers import RadicaleServer, RawDav
from partnercrmd_carddav import CARDDAV

from partnercrmd.testing import ApiSession, RecordingOpener, action, addin_host, by_book, configure_book, names, search

CALL = {
    "Direction": "Inbound",
    "CallerNumber": "+44 20 7946 0958",
    "CalledNumber": "201",
    "CalledName": "Reception",
    "StartTimeUtc": "2026-11-25T14:03:07Z",
    "DurationSeconds": "125",
    "Notes": "Wants a quote for 40 seats",
}


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {f["DescriptorId"]: f["Value"] for f in record["Fields"]}


async def only(api: ApiSession, book_id: str, query: str) -> dict[str, Any]:
    """The one record a search finds (asserting there is exactly one and no error)."""
    found = (await search(api, query))[book_id]
    assert found["ExceptionText"] == ""
    [record] = found["Records"]
    return record  # type: ignore[no-any-return]


# --- discovery and listing -------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point(api: ApiSession, partnercrmd_app: web.Application) -> None:
    found = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found["carddav"].value == "partnercrmd_carddav"
    host = addin_host(partnercrmd_app)
    info = host.addins["carddav"]
    assert info.distribution == "partnercrmd-carddav" and not info.builtin and info.error is None
    assert host.integration("carddav") is CARDDAV
    assert CARDDAV.config_field("password") is not None and CARDDAV.config_field("password").secret  # type: ignore[union-attr]


async def test_a_configured_book_lists_its_capabilities(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any]
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", name="Team", **settings)
    book = by_book(await api.call("GET", "AddressBooks"))[book_id]
    assert (book["Status"], book["ExceptionText"]) == ("Ready", "")
    assert book["Type"]["Capabilities"] == [
        "CreateContact",
        "LogActivity",
        "Pictures",
        "Pop",
        "PopInEditMode",
        "SearchByName",
        "SearchByNumber",
        "ShowActivities",
        "UpdateContact",
    ]
    assert book["HasModifyFeature"] and book["HasActivityActionFeatureCreate"] and book["HasActivityActionFeatureShow"]


# --- search ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958", "+442079460958", "020 7946 0958"],
)
async def test_a_caller_is_found_whatever_the_number_format(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any], query: str
) -> None:
    # Radicale holds "(020) 7946-0958" and matches TEL as literal text: none of these queries is that text.
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    dana = await only(api, book_id, query)
    assert dana["DisplayText"] == "Dana Whitfield"
    shown = fields(dana)
    assert shown["BusinessPhone"] == "(020) 7946-0958"  # as the card writes it
    assert shown["MobilePhone"] == "07700 900123"
    assert shown["CompanyName"] == "Northwind Traders"
    assert shown["JobTitle"] == "Head of Sales"
    assert shown["Email"] == "dana.whitfield@northwind.example"
    assert shown["Notes"] == "Prefers calls after 10am"


async def test_numbers_in_other_cards_and_forms_are_found_and_strangers_are_not(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any]
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    assert (await only(api, book_id, "0161 496 0789"))["DisplayText"] == "Eamon O'Neill"  # 4.0 tel: URI
    assert (await only(api, book_id, "+33 1 42 68 53 00"))["DisplayText"] == "Zoë Lefèvre"  # stored 0033 …
    assert (await only(api, book_id, "+1 (212) 736-5000"))["DisplayText"] == "Zoë Lefèvre"
    assert (await only(api, book_id, "07700900123"))["DisplayText"] == "Dana Whitfield"
    stranger = (await search(api, "+44 20 7946 0999"))[book_id]
    assert (stranger["Records"], stranger["ExceptionText"]) == ([], "")


async def test_a_contact_added_on_the_server_by_another_app_is_found(
    api: ApiSession,
    partnercrmd_app: web.Application,
    settings: dict[str, Any],
    raw: RawDav,
    book_path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(partnercrmd_carddav.connector, "CHECK_INTERVAL", 0.1)  # instead of waiting 2 s
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    assert (await search(api, "+44 117 496 0123"))[book_id]["Records"] == []
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:frank\r\nFN:Frank Ocampo\r\nTEL:0117-496-0123\r\nEND:VCARD\r\n"
    raw.put_card(book_path + "frank.vcf", card)
    await asyncio.sleep(0.15)
    assert (await only(api, book_id, "+44 117 496 0123"))["DisplayText"] == "Frank Ocampo"
    raw.put_card(book_path + "gina.vcf", card.replace("frank", "gina").replace("Frank Ocampo", "Gina Okafor"))
    await asyncio.sleep(0.15)
    assert names((await search(api, "okafor"))[book_id]) == ["Gina Okafor"]


async def test_name_search_needs_every_word(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any]
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    assert names((await search(api, "northwind"))[book_id]) == ["Dana Whitfield", "Eamon O'Neill"]
    assert names((await search(api, "Dana NORTHWIND"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "eamon.oneill@"))[book_id]) == ["Eamon O'Neill"]
    assert names((await search(api, "société zoe"))[book_id]) == ["Zoë Lefèvre"]
    assert names((await search(api, "whitfield contoso"))[book_id]) == []


async def test_pictures_come_with_include_pictures(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any]
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    with_picture = (await search(api, "Dana", includePictures="true"))[book_id]["Records"][0]
    assert fields(with_picture)["Picture"].startswith("data:image/png;base64,iVBORw0KGgo")
    without = (await search(api, "Dana"))[book_id]["Records"][0]
    assert "Picture" not in fields(without)


# --- popping -----------------------------------------------------------------------------------------------


async def test_open_and_edit_use_partnercrmds_own_page_without_a_web_address(
    api: ApiSession,
    partnercrmd_app: web.Application,
    partnercrmd_opener: RecordingOpener,
    settings: dict[str, Any],
    raw: RawDav,
    book_path: str,
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    dana = await only(api, book_id, "+44 20 7946 0958")
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    await api.call("POST", "DoAction", actionId=action(dana, "OpenInEditMode"))
    prefix = f"http://127.0.0.1:{api.client.port}"
    view, edit = partnercrmd_opener.urls
    assert view.startswith(prefix + "/records/") and edit.startswith(prefix + "/records/") and view != edit
    page = await api.client.get(view.removeprefix(prefix))
    assert page.status == 200
    html = await page.text()
    assert "Dana Whitfield" in html and "(020) 7946-0958" in html  # the page reads the card with get()
    edit_page = await api.client.get(edit.removeprefix(prefix))
    assert edit_page.status == 200
    form = await edit_page.text()
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    saved = await api.client.post(
        edit.removeprefix(prefix),
        data={
            "csrf": csrf,
            "display_name": "Dana Whitfield",
            "first_name": "Dana",
            "last_name": "Whitfield",
            "company": "Northwind Ltd",
            "email": "dana.whitfield@northwind.example",
            "phone": "(020) 7946-0958",
            "notes": "Prefers mornings",
        },
    )
    assert saved.status == 200 and "Saved." in await saved.text()  # after the redirect to the page
    stored = raw.get(book_path + "dana-whitfield.vcf").body
    assert "ORG:Northwind Ltd;Sales" in stored and "NOTE:Prefers mornings" in stored
    assert "TEL;TYPE=WORK,VOICE:(020) 7946-0958" in stored and "TEL;TYPE=CELL:07700 900123" in stored


async def test_open_goes_to_the_servers_web_page_when_configured(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, settings: dict[str, Any]
) -> None:
    template = "https://cloud.example.com/apps/contacts/All%20contacts/{uid}~contacts"
    book_id = await configure_book(partnercrmd_app, "carddav", web_url_template=template, **settings)
    await api.call("POST", "DoAction", actionId=action(await only(api, book_id, "02079460958"), "Open"))
    await api.call("POST", "DoAction", actionId=action(await only(api, book_id, "01614960789"), "OpenInEditMode"))
    assert partnercrmd_opener.urls == [
        "https://cloud.example.com/apps/contacts/All%20contacts/dana-whitfield~contacts",
        "https://cloud.example.com/apps/contacts/All%20contacts/urn%3Auuid%3A7f0c4d3e-eamon~contacts",
    ]


# --- activities --------------------------------------------------------------------------------------------


async def test_a_call_is_logged_in_the_contacts_note_and_read_back_from_the_server(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any], raw: RawDav, book_path: str
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    dana = await only(api, book_id, "+44 20 7946 0958")
    await api.call("POST", "DoAction", actionId=action(dana, "LogActivity"), **CALL)

    stored = raw.get(book_path + "dana-whitfield.vcf").body  # Radicale's own copy, read without the add-in
    unfolded = stored.replace("\r\n ", "").replace("\n ", "")
    assert "NOTE:Prefers calls after 10am\\n[Call 2026-11-25 14:03:07 UTC\\, inbound\\, 2:05] Incoming call: " in (
        unfolded
    )
    assert "+44 20 7946 0958 -> 201 [Reception] — Wants a quote for 40 seats" in unfolded
    assert "X-SOCIALPROFILE;TYPE=twitter:danaw" in unfolded and "PHOTO;" in unfolded  # the rest of the card kept

    found = (await search(api, "Dana", includeActivities="true"))[book_id]
    [record] = found["Records"]
    [activity] = record["Activities"]
    assert activity["Subject"] == "Incoming call: +44 20 7946 0958 -> 201 [Reception]"
    assert activity["Body"] == "Wants a quote for 40 seats"
    assert (activity["Direction"], activity["StartTimeUtc"], activity["DurationSeconds"]) == (
        "Inbound",
        "2026-11-25T14:03:07Z",
        125,
    )
    assert fields(record)["Notes"] == "Prefers calls after 10am"  # call lines are shown as activities, not notes


async def test_a_call_is_logged_as_a_journal_entry_in_a_calendar(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any], raw: RawDav, radicale: RadicaleServer
) -> None:
    calendar = f"/alice/calls-{uuid.uuid4().hex[:8]}/"
    raw.make_calendar(calendar, "Calls")
    book_id = await configure_book(
        partnercrmd_app, "carddav", activity_mode="journal", calendar_url=radicale.url + calendar, **settings
    )
    eamon = await only(api, book_id, "+44 161 496 0789")
    await api.call("POST", "DoAction", actionId=action(eamon, "LogActivity"), **{**CALL, "Direction": "Outbound"})

    [href] = [line for line in raw.listing(calendar).split("<href>")[1:] if ".ics<" in line]
    entry = raw.get(href.split("<", 1)[0]).body.replace("\r\n", "\n").replace("\n ", "")  # from Radicale itself
    assert "BEGIN:VJOURNAL" in entry
    assert "SUMMARY:Outgoing call: +44 20 7946 0958 -> 201 [Reception] (Eamon O'Neill)" in entry
    assert "DTSTART:20261125T140307Z" in entry
    assert "X-PARTNERCRMD-CONTACT:eamon.vcf" in entry
    assert "DESCRIPTION:Direction: Outbound\\nCaller: +44 20 7946 0958\\nCalled: 201 [Reception]\\n" in entry
    assert "\\n\\nWants a quote for 40 seats" in entry

    [record] = (await search(api, "Eamon", includeActivities="true"))[book_id]["Records"]
    [activity] = record["Activities"]
    assert (activity["Direction"], activity["DurationSeconds"]) == ("Outbound", 125)
    assert raw.get(f"{settings['addressbook']}eamon.vcf").body.count("NOTE") == 0  # the card is left alone


# --- creating and changing contacts ---------------------------------------------------------------------


async def test_a_created_contact_is_stored_on_the_server_and_found_by_number(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any], raw: RawDav, book_path: str
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book_id}/Contact",
        FirstName="Grace",
        LastName="Hopper",
        Phone="+1 212 555 0199",
        Email="grace@navy.example",
    )
    assert created["DisplayText"] == "Grace Hopper"

    listing = raw.listing(book_path)
    [name] = [
        part.split("<", 1)[0]
        for part in listing.split(book_path)[1:]
        if part.split("<", 1)[0] not in ("", "dana-whitfield.vcf", "eamon.vcf", "zoe-lefevre.vcf")
    ]
    stored = raw.get(book_path + name).body.replace("\r\n", "\n")
    assert f"UID:{name.removesuffix('.vcf')}" in stored
    assert "FN:Grace Hopper" in stored and "N:Hopper;Grace;;;" in stored
    assert "TEL;TYPE=WORK,VOICE:+1 212 555 0199" in stored
    assert "EMAIL;TYPE=INTERNET:grace@navy.example" in stored

    assert (await only(api, book_id, "(212) 555-0199"))["DisplayText"] == "Grace Hopper"
    assert (await only(api, book_id, "001 212 555 0199"))["DisplayText"] == "Grace Hopper"


async def test_saving_a_record_changes_only_what_was_given(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any], raw: RawDav, book_path: str
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **settings)
    dana = await only(api, book_id, "+44 20 7946 0958")
    saved = await api.call(
        "POST", "SaveRecord", RecordId=dana["UniqueId"], Phone="020 7946 0111", Email="dana@northwind.example"
    )
    assert fields(saved)["BusinessPhone"] == "020 7946 0111"
    stored = raw.get(book_path + "dana-whitfield.vcf").body.replace("\r\n ", "").replace("\n ", "")
    assert "TEL;TYPE=WORK,VOICE:020 7946 0111" in stored and "TEL;TYPE=CELL:07700 900123" in stored
    assert "EMAIL;TYPE=INTERNET:dana@northwind.example" in stored and "FN:Dana Whitfield" in stored
    assert "PHOTO;" in stored and "ORG:Northwind Traders;Sales" in stored

    assert (await only(api, book_id, "+44 20 7946 0111"))["DisplayText"] == "Dana Whitfield"  # index updated
    assert (await search(api, "+44 20 7946 0958"))[book_id]["Records"] == []


# --- failures ----------------------------------------------------------------------------------------------


async def test_a_wrong_password_is_reported_plainly_and_never_shown(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any]
) -> None:
    wrong = "not-alices-password-42"
    book_id = await configure_book(partnercrmd_app, "carddav", **{**settings, "password": wrong})
    for query in ("+44 20 7946 0958", "Dana"):
        found = (await search(api, query))[book_id]
        assert found["Records"] == []
        assert found["ExceptionText"].startswith("The server http://127.0.0.1:")
        assert "refused the user name 'alice' or its password (HTTP 401)" in found["ExceptionText"]
        assert wrong not in found["ExceptionText"]


async def test_a_server_stopped_mid_test_is_reported_within_the_deadline(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = RadicaleServer(tmp_path_factory.mktemp("radicale-stopped")).start()
    try:
        path = seed_book(server.raw(), "/alice/contacts/")
        book_id = await configure_book(
            partnercrmd_app,
            "carddav",
            url=server.url,
            username="alice",
            password=RadicaleServer.USERS["alice"],
            addressbook=path,
        )
        assert names((await search(api, "+44 20 7946 0958"))[book_id]) == ["Dana Whitfield"]
    finally:
        server.stop()
    for query in ("+44 20 7946 0958", "+44 20 7946 0999", "Dana"):
        started = time.monotonic()
        found = (await search(api, query, timeoutMs=1500))[book_id]
        assert time.monotonic() - started < 3
        assert found["Records"] == []
        text = found["ExceptionText"]
        assert text.startswith(f"The CardDAV server at {server.url} cannot be reached ("), text
        assert text.endswith("); check the setting 'url' and that the server is running."), text


async def test_journal_mode_without_a_calendar_leaves_the_book_unavailable(
    api: ApiSession, partnercrmd_app: web.Application, settings: dict[str, Any]
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", activity_mode="journal", **settings)
    book = by_book(await api.call("GET", "AddressBooks"))[book_id]
    assert book["Status"] == "Unavailable"
    assert "needs the setting 'calendar_url'" in book["ExceptionText"]
