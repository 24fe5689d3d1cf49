"""The ldap add-in, installed as its own distribution, against a real OpenLDAP slapd, through the daemon's HTTP API."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ldap_test_support import open_connector, running_slapd, settings
from partnercrmd_ldap import LDAP
from slapd_server import (
    CONTACTS,
    PEOPLE,
    READER_DN,
    READER_PASSWORD,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SUFFIX,
    TINY_JPEG,
    Slapd,
)

from partnercrmd.testing import (
    ApiSession,
    Paths,
    RecordingOpener,
    action,
    addin_host,
    configure_book,
    names,
    number_query,
    run_cli,
    search,
)

# --- the server and helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One slapd for the whole file, seeded with the people of slapd_server.SEED."""
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


async def add_book(app: web.Application, slapd: Slapd, **overrides: Any) -> str:
    return await configure_book(app, "ldap", **settings(slapd, **overrides))


def field_values(record: dict[str, Any], well_known: str) -> list[str]:
    return [f["Value"] for f in record["Fields"] if f["WellKnownName"] == well_known]


async def only_record(api: ApiSession, book_id: str, query: str) -> dict[str, Any]:
    records: list[dict[str, Any]] = (await search(api, query))[book_id]["Records"]
    assert len(records) == 1, records
    return records[0]


# --- installation -------------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point(api: ApiSession, partnercrmd_app: web.Application) -> None:
    found = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found["ldap"].value == "partnercrmd_ldap"
    info = addin_host(partnercrmd_app).addins["ldap"]
    assert info.distribution == "partnercrmd-ldap" and not info.builtin and info.error is None
    assert addin_host(partnercrmd_app).integration("ldap") is LDAP
    assert LDAP.config_field("password") is not None and LDAP.config_field("password").secret  # type: ignore[union-attr]


# --- search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958", "tel:+44-20-7946-0958"]
)
async def test_caller_is_found_whatever_the_number_format(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd, query: str
) -> None:
    # The entry says "+44 (0)20 7946-0958": the "(0)" and the mixed separators defeat slapd's own matching.
    book_id = await add_book(partnercrmd_app, slapd)
    assert sorted(names((await search(api, query))[book_id])) == ["Dana Whitfield"]


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("+44 7700 900123", "Dana Whitfield"),  # mobile "07700 900123"
        ("+44 161 496 0789", "Eamon O'Neill"),  # homePhone "0161.496.0789": dots are not ignored by slapd
        ("+1 212-736-5000", "Frank Ocampo"),  # "(212) 736-5000", no country code
        ("+33 1 42 68 53 00", "Zoë Lefèvre"),
    ],
)
async def test_every_phone_attribute_is_searched(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd, query: str, who: str
) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    record = await only_record(api, book_id, query)
    assert record["DisplayText"] == who


async def test_an_unknown_number_finds_nobody(api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    assert sorted(names((await search(api, "+44 20 7946 0999"))[book_id])) == []


def test_the_add_in_drops_entries_whose_digits_only_look_alike(slapd: Slapd, tmp_path: Path) -> None:
    # "+49 89 4946 0958" passes the LDAP filter for +44 20 7946 0958 (same digits in order); the host would drop it
    # too, but the add-in does not lean on that.
    with open_connector(slapd, tmp_path) as connector:
        assert [c.name for c in connector.search(number_query("+44 20 7946 0958"))] == ["Dana Whitfield"]
        assert [c.name for c in connector.search(number_query("+49 89 4946 0958"))] == ["Max Decoy"]


async def test_a_contact_carries_its_fields(api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    dana = await only_record(api, book_id, "+44 20 7946 0958")
    assert field_values(dana, "FirstName") == ["Dana"] and field_values(dana, "LastName") == ["Whitfield"]
    assert field_values(dana, "CompanyName") == ["Northwind Traders"]
    assert field_values(dana, "JobTitle") == ["Head of Sales"]
    assert field_values(dana, "BusinessPhone") == ["+44 (0)20 7946-0958"]
    assert field_values(dana, "MobilePhone") == ["07700 900123"]
    assert field_values(dana, "Email") == ["dana.whitfield@northwind.example"]
    assert field_values(dana, "Custom") == [f"cn=Dana Whitfield,{PEOPLE}"]
    assert field_values(dana, "Picture") == []  # not asked for


async def test_pictures_come_from_jpeg_photo(api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    books = await search(api, "northwind", includePictures="true")
    pictures = {r["DisplayText"]: field_values(r, "Picture") for r in books[book_id]["Records"]}
    expected = "data:image/jpeg;base64," + base64.b64encode(TINY_JPEG).decode()
    assert pictures == {"Dana Whitfield": [expected], "Eamon O'Neill": []}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("northwind", ["Dana Whitfield", "Eamon O'Neill"]),
        ("dana NORTHWIND", ["Dana Whitfield"]),
        ("eamon.oneill@", ["Eamon O'Neill"]),
        ("o'neill", ["Eamon O'Neill"]),
        ("Zoë société", ["Zoë Lefèvre"]),
        ("dana contoso", []),
        ("*", []),  # wildcards and parentheses are searched for, not obeyed
        ("Fabrikam (US)", ["Frank Ocampo"]),
        ("a)(objectClass=*", []),
    ],
)
async def test_name_search_needs_every_word_in_a_name_company_or_email(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd, query: str, found: list[str]
) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    assert sorted(names((await search(api, query))[book_id])) == found


async def test_the_extra_filter_narrows_every_search(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, search_filter="(o=Northwind*)")
    assert sorted(names((await search(api, "+33 1 42 68 53 00"))[book_id])) == []
    assert sorted(names((await search(api, "e"))[book_id])) == ["Dana Whitfield", "Eamon O'Neill"]


async def test_count_and_offset_page_through_a_name_search(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, base_dn=PEOPLE)  # five seeded people have an "a"
    pages = [(await search(api, "a", count=2, offset=offset))[book_id]["Records"] for offset in (0, 2, 4)]
    shown = [r["DisplayText"] for page in pages for r in page]
    assert [len(p) for p in pages] == [2, 2, 1] and len(set(shown)) == 5


# --- popping ------------------------------------------------------------------------------------------


async def test_open_and_edit_pop_partnercrmds_record_page(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, allow_update=True)
    eamon = await only_record(api, book_id, "+44 20 7946 0456")
    await api.call("POST", "DoAction", actionId=action(eamon, "Open"))
    await api.call("POST", "DoAction", actionId=action(eamon, "OpenInEditMode"))
    origin = f"http://127.0.0.1:{api.client.port}"
    assert len(partnercrmd_opener.urls) == 2
    assert all(url.startswith(f"{origin}/records/") for url in partnercrmd_opener.urls)
    view, edit = [await api.client.get(url.removeprefix(origin)) for url in partnercrmd_opener.urls]
    assert view.status == 200 and edit.status == 200
    html = await view.text()
    assert "Eamon O&#39;Neill" in html and "0161.496.0789" in html  # read again from slapd by its entryUUID


# --- logging calls ------------------------------------------------------------------------------------

CALL = {
    "Direction": "Inbound",
    "CallerNumber": "+44 20 7946 0456",
    "CalledNumber": "+44 20 7946 0100",
    "StartTimeUtc": "2026-11-25T14:03:00Z",
    "DurationSeconds": 125,
    "Notes": "Asked for the new price list.",
}


async def test_log_call_adds_a_description_value_read_back_with_ldapsearch(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, activity_attribute="description")
    eamon = await only_record(api, book_id, "+44 20 7946 0456")
    await api.call("POST", "DoAction", actionId=action(eamon, "LogActivity"), **CALL)
    [entry] = slapd.ldapsearch(PEOPLE, "(cn=Eamon O'Neill)", "description")
    [value] = [v for v in entry["description"] if "price list" in v]
    lines = value.splitlines()
    assert re.fullmatch(r"Call reference: pcrmd-\w+", lines.pop(6))  # the outbox's mark: logged once per call
    assert lines == [
        "2026-11-25 14:03 UTC Incoming call: +44 20 7946 0456 -> +44 20 7946 0100",
        "Direction: Inbound",
        "Caller: +44 20 7946 0456",
        "Called: +44 20 7946 0100",
        "Start: 2026-11-25 14:03:00 UTC",
        "Duration: 2:05",
        "",
        "Asked for the new price list.",
    ]
    again = await only_record(api, book_id, "+44 20 7946 0456")  # the notes show the call log
    assert "Asked for the new price list." in field_values(again, "Notes")[0]


async def test_a_single_valued_log_attribute_gets_each_call_appended(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    # displayName takes one value (as Active Directory's info does): the calls are appended to its text.
    book_id = await add_book(partnercrmd_app, slapd, activity_attribute="displayName")
    frank = await only_record(api, book_id, "+1 212 736 5000")
    for notes in ("first call", "second call"):
        await api.call("POST", "DoAction", actionId=action(frank, "LogActivity"), **{**CALL, "Notes": notes})
    [entry] = slapd.ldapsearch(PEOPLE, "(cn=Frank Ocampo)", "displayName")
    [text] = entry["displayName"]
    assert text.index("first call") < text.index("second call")
    assert text.count("Incoming call: +44 20 7946 0456") == 2


async def test_without_a_log_attribute_records_offer_no_log_call(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    zoe = await only_record(api, book_id, "Zoë")
    assert {a["SpecialKind"] for a in zoe["Actions"]} == {"Open"}  # no Log call, no Edit by default
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert listed["HasActivityActionFeatureCreate"] is False


async def test_log_call_without_write_access_is_a_clear_error(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(
        partnercrmd_app, slapd, bind_dn=READER_DN, password=READER_PASSWORD, activity_attribute="description"
    )
    zoe = await only_record(api, book_id, "Zoë")
    response = await api.request("POST", "DoAction", actionId=action(zoe, "LogActivity"), **CALL)
    body = await response.json()
    assert response.status == 502 and body["Code"] == "invalid_auth"
    assert body["Message"] == (
        f"The LDAP account '{READER_DN}' is not allowed to write the call log attribute 'description'; "
        "ask the directory administrator for access."
    )


# --- creating and changing contacts -------------------------------------------------------------------


async def test_create_new_record_makes_an_entry_found_by_number_and_name(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, allow_create=True, create_container=CONTACTS)
    fields = {"FirstName": "Grace", "LastName": "Hopper", "Phone": "+44 20 7946 0777", "Email": "grace@navy.example"}
    created = await api.call("POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", **fields)
    assert created["DisplayText"] == "Grace Hopper"
    [entry] = slapd.ldapsearch(CONTACTS, "(sn=Hopper)", "cn", "givenName", "telephoneNumber", "mail", "objectClass")
    assert entry["dn"] == [f"cn=Grace Hopper,{CONTACTS}"]
    assert entry["telephoneNumber"] == ["+44 20 7946 0777"] and entry["mail"] == ["grace@navy.example"]
    assert "inetOrgPerson" in entry["objectClass"]
    assert sorted(names((await search(api, "020 7946 0777"))[book_id])) == ["Grace Hopper"]
    assert sorted(names((await search(api, "grace hopper"))[book_id])) == ["Grace Hopper"]

    again = await api.call("POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", **fields)
    assert again["DisplayText"] == "Grace Hopper (2)"  # the name is taken in the container


async def test_create_is_refused_unless_allowed(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    response = await api.request("POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", LastName="Nobody")
    assert response.status == 422
    assert "cannot create contacts" in (await response.json())["Message"]
    assert slapd.ldapsearch(SUFFIX, "(sn=Nobody)") == []


async def test_save_record_changes_the_entry_and_renames_it_with_its_name(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, allow_create=True, allow_update=True, create_container=CONTACTS)
    created = await api.call(
        "POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", ContactName="Ada King", Phone="0161 496 0100"
    )
    saved = await api.call(
        "POST",
        "SaveRecord",
        RecordId=created["UniqueId"],
        ContactName="Ada Lovelace",
        Phone="+44 161 496 0199",
        CompanyName="Analytical Engines",
    )
    assert saved["DisplayText"] == "Ada Lovelace"
    [entry] = slapd.ldapsearch(CONTACTS, "(o=Analytical Engines)", "cn", "telephoneNumber")
    assert entry["dn"] == [f"cn=Ada Lovelace,{CONTACTS}"] and entry["telephoneNumber"] == ["+44 161 496 0199"]
    assert sorted(names((await search(api, "0161 496 0199"))[book_id])) == ["Ada Lovelace"]


# --- failures -----------------------------------------------------------------------------------------


async def test_wrong_password_is_a_clear_exception_text_without_the_password(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, password="not-the-Password-42")
    text = (await search(api, "+44 20 7946 0958"))[book_id]["ExceptionText"]
    assert text == (f"The LDAP server refused the login ('{SERVICE_DN}'); check the settings 'bind_dn' and 'password'.")


async def test_a_server_stopped_mid_test_is_reported_within_the_deadline_and_found_again_after_restart(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path
) -> None:
    with running_slapd(tmp_path / "spare") as server:
        book_id = await add_book(partnercrmd_app, server)
        assert sorted(names((await search(api, "+44 20 7946 0958", timeoutMs=1500))[book_id])) == ["Dana Whitfield"]
    started = time.monotonic()
    text = (await search(api, "+44 20 7946 0958", timeoutMs=1500))[book_id]["ExceptionText"]
    assert time.monotonic() - started < 3
    assert text == (
        f"Cannot reach the LDAP server at {server.url} (connection refused); check the setting 'url' "
        "and that the server is running."
    )
    server.start()  # back on the same port, with the same database: found again at once
    try:
        assert sorted(names((await search(api, "+44 20 7946 0958", timeoutMs=1500))[book_id])) == ["Dana Whitfield"]
    finally:
        server.stop()


async def test_a_wrong_base_dn_is_reported(api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd) -> None:
    book_id = await add_book(partnercrmd_app, slapd, base_dn="ou=nowhere,dc=example,dc=com")
    assert (await search(api, "dana"))[book_id]["ExceptionText"] == (
        "The DN 'ou=nowhere,dc=example,dc=com' does not exist on the LDAP server, or the account may not see it; "
        "check the setting 'base_dn'."
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"url": "http://ldap.example"}, "The setting 'url' must start with ldap:// or ldaps://"),
        ({"base_dn": "people"}, "The setting 'base_dn' is not a distinguished name"),
        ({"search_filter": "(o=x"}, "The setting 'search_filter' is not an LDAP filter"),
        ({"tls_server_name": "dc1 corp"}, "The setting 'tls_server_name' must be a host name"),
    ],
)
async def test_settings_that_cannot_work_make_the_book_unavailable(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd, overrides: dict[str, str], reason: str
) -> None:
    book_id = await add_book(partnercrmd_app, slapd, **overrides)
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert listed["Status"] == "Unavailable"
    assert listed["ExceptionText"].startswith(f"The address book could not be opened: {reason}")


# --- test connection ----------------------------------------------------------------------------------


READER_LOGGING = {"bind_dn": READER_DN, "password": READER_PASSWORD, "activity_attribute": "description"}


def checks(slapd: Slapd, tmp_path: Path, **overrides: Any) -> list[tuple[str, bool, str | None]]:
    with open_connector(slapd, tmp_path, **overrides) as connector:
        return [(r.check, r.ok, r.error_key) for r in connector.test()]


def test_check_passes_every_step_of_a_good_setup(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(
        slapd, tmp_path, activity_attribute="description", allow_create=True, allow_update=True
    ) as connector:
        results = connector.test()
    assert [(r.check, r.ok) for r in results] == [
        ("reach", True),
        ("authenticate", True),
        ("search", True),
        ("index", True),
        ("log", True),
        ("update", True),
        ("create", True),
    ]
    assert results[1].message == f"Logged in as '{SERVICE_DN}'."
    assert results[4].message == "The account may change 'description' (logging calls)."
    [dana] = slapd.ldapsearch(PEOPLE, "(cn=Dana Whitfield)", "description")
    assert "description" not in dana  # the write check changed nothing


@pytest.mark.parametrize(
    ("overrides", "failing", "error_key"),
    [
        ({"url": "ldap://127.0.0.1:1"}, "reach", "cannot_connect"),
        ({"password": "wrong-Password"}, "authenticate", "invalid_auth"),
        ({"base_dn": "ou=nowhere,dc=example,dc=com"}, "search", "not_found"),
        ({"search_filter": "(o=Nobody Inc)"}, "search", "not_found"),
        (
            {"bind_dn": READER_DN, "password": READER_PASSWORD, "activity_attribute": "description"},
            "log",
            "invalid_auth",
        ),
        ({"activity_attribute": "callLog"}, "log", "invalid_data"),
        ({"allow_create": True, "create_container": "ou=missing,dc=example,dc=com"}, "create", "not_found"),
    ],
)
def test_check_names_the_step_that_fails_with_a_stable_key(
    slapd: Slapd, tmp_path: Path, overrides: dict[str, Any], failing: str, error_key: str
) -> None:
    *passed, last = checks(slapd, tmp_path, **overrides)
    assert all(ok for _, ok, _ in passed)
    assert last == (failing, False, error_key)


def test_books_test_command_runs_the_check(
    partnercrmd_home: Paths, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = [arg for key, value in settings(slapd).items() for arg in ("--set", f"{key}={value}")]
    assert run_cli(["books", "add", "ldap", "--name", "Directory", *sets]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Directory"]) == 0
    output = capsys.readouterr().out
    assert output.splitlines()[0] == f"ok   reach: The LDAP server at {slapd.url} answers."
    assert SERVICE_PASSWORD not in output


async def test_start_tls_refused_never_falls_back_to_plain_text(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    # This slapd has no certificate: StartTLS fails, and the password is not sent unencrypted instead.
    book_id = await add_book(partnercrmd_app, slapd, start_tls=True)
    text = (await search(api, "dana"))[book_id]["ExceptionText"]
    assert text.startswith(f"StartTLS with {slapd.url} failed (")
    assert text.endswith(
        "the server may not offer TLS on this port (try ldaps://), or its certificate is not trusted "
        "(setting 'ca_file')."
    )
