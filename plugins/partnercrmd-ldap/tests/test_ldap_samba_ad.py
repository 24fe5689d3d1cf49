"""The "Active Directory" entry (the ldap add-in's AD preset) against a real Samba AD domain controller.

One DC for the whole test session (tests/samba_dc.py: provisioned once per Samba version and cached, copied
here, run in the foreground, stopped by its PID). Samba refuses simple binds on plain LDAP, as AD does, so
every book uses LDAPS or StartTLS trusting the DC's own CA (private/tls/ca.pem); the DC's certificate is
issued for its name (VM.example.test), which the tests reach as 127.0.0.1, so books name it in
'tls_server_name'. What the add-in wrote is read back with Samba's own ldbsearch.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ldap_test_support import Sent
from partnercrmd_ldap import ACTIVE_DIRECTORY_ENTRY
from partnercrmd_ldap.connector import LdapBook
from samba_dc import (
    ADMIN_PASSWORD,
    ADMIN_UPN,
    BASE_DN,
    BULK_PEOPLE,
    DOMAIN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SERVICE_UPN,
    USERS,
    SambaDC,
    copy_domain,
    user,
)

from partnercrmd.sdk import BookContext, SearchQuery
from partnercrmd.testing import (
    ApiSession,
    Paths,
    RecordingOpener,
    action,
    configure_book,
    contact_names,
    names,
    number_query,
    run_cli,
    search,
)

NUMBERS = 2 + 3 + 2 + 1 + BULK_PEOPLE
"""Phone values of the seeded people: Dana 2, Eamon 3, Frank 2 (otherTelephone), Zoë 1, one per bulk person."""


@pytest.fixture(scope="session")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    """The session's domain controller (a copy of the cached domain), stopped at the end."""
    server = copy_domain(tmp_path_factory.mktemp("samba") / "dc")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ad_settings(dc: SambaDC, **overrides: Any) -> dict[str, Any]:
    """An "Active Directory" book on `dc` over LDAPS, trusting the DC's own CA, bound as an ordinary user."""
    return {
        "url": dc.ldaps_url,
        "bind_dn": SERVICE_UPN,
        "password": SERVICE_PASSWORD,
        "base_dn": BASE_DN,
        "ca_file": str(dc.ca_file),
        "tls_server_name": dc.certificate_name,
        **overrides,
    }


async def add_book(app: web.Application, dc: SambaDC, **overrides: Any) -> str:
    return await configure_book(app, "active-directory", **ad_settings(dc, **overrides))


def open_book(dc: SambaDC, data_dir: Path, **overrides: Any) -> LdapBook:
    data_dir.mkdir(parents=True, exist_ok=True)
    context = BookContext("ad", "AD", ad_settings(dc, **overrides), data_dir, "GB")
    connector = ACTIVE_DIRECTORY_ENTRY.open(context)
    assert isinstance(connector, LdapBook)
    return connector


def checks(dc: SambaDC, data_dir: Path, **overrides: Any) -> list[tuple[str, bool, str | None, str]]:
    connector = open_book(dc, data_dir, **overrides)
    try:
        return [(r.check, r.ok, r.error_key, r.message) for r in connector.test()]
    finally:
        connector.close()


async def find(api: ApiSession, query: str, **parameters: Any) -> dict[str, Any]:
    """`search` with time for a first TLS handshake and the index fill (1,100 people) alongside."""
    return await search(api, query, **{"timeoutMs": 8000, **parameters})


def field_values(record: dict[str, Any], well_known: str) -> list[str]:
    return [f["Value"] for f in record["Fields"] if f["WellKnownName"] == well_known]


# --- the entry ----------------------------------------------------------------------------------------


def test_books_types_lists_active_directory(partnercrmd_home: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["books", "types"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("active-directory ")]
    assert re.match(r"active-directory\s+Active Directory\s+\d", line)
    # Its place on the start page (Directory, found by "active directory"): tests/test_start_page.py.
    assert ACTIVE_DIRECTORY_ENTRY.config_field("preset") is None  # always the AD preset
    assert ACTIVE_DIRECTORY_ENTRY.config_field("password").secret  # type: ignore[union-attr]


# --- search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("+44 20 7946 0958", "Dana Whitfield"),  # telephoneNumber "+44 (0)20 7946-0958"
        ("02079460958", "Dana Whitfield"),
        ("0044 20 7946 0958", "Dana Whitfield"),
        ("tel:+44-20-7946-0958", "Dana Whitfield"),
        ("+44 7700 900123", "Dana Whitfield"),  # mobile "07700 900123"
        ("+44 161 496 0789", "Eamon O'Neill"),  # homePhone "0161.496.0789"
        ("+44 20 7946 0460", "Eamon O'Neill"),  # ipPhone "020-7946-0460"
        ("+1 212-736-5000", "Frank Ocampo"),  # otherTelephone "(212) 736-5000", first of two values
        ("+12127365099", "Frank Ocampo"),  # otherTelephone "+1 212.736.5099", the second value
        ("+33 1 42 68 53 00", "Zoë Lefèvre"),  # mobile
    ],
)
async def test_a_user_is_found_by_any_phone_attribute_in_any_format(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC, query: str, who: str
) -> None:
    book_id = await add_book(partnercrmd_app, dc)
    assert names((await find(api, query))[book_id]) == [who]


async def test_an_unknown_number_finds_nobody(api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC) -> None:
    book_id = await add_book(partnercrmd_app, dc)
    assert names((await find(api, "+44 20 7946 0999"))[book_id]) == []


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("northwind", ["Dana Whitfield", "Eamon O'Neill"]),
        ("dana NORTHWIND", ["Dana Whitfield"]),
        ("o'neill", ["Eamon O'Neill"]),
        ("Zoë société", ["Zoë Lefèvre"]),
        ("Fabrikam (US)", ["Frank Ocampo"]),
        ("a)(objectClass=*", []),
    ],
)
async def test_name_search(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC, query: str, found: list[str]
) -> None:
    book_id = await add_book(partnercrmd_app, dc)
    assert sorted(names((await find(api, query))[book_id])) == found


async def test_a_user_carries_its_fields(api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC) -> None:
    book_id = await add_book(partnercrmd_app, dc)
    [frank] = (await find(api, "+1 212 736 5000"))[book_id]["Records"]
    assert field_values(frank, "BusinessPhone") == ["(212) 736-5000", "+1 212.736.5099"]
    assert field_values(frank, "CompanyName") == ["Fabrikam (US)"]
    [eamon] = (await find(api, "+44 20 7946 0456"))[book_id]["Records"]
    assert "020-7946-0460" in [f["Value"] for f in eamon["Fields"]]


async def test_open_pops_the_record_page_read_again_by_object_guid(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, dc: SambaDC
) -> None:
    book_id = await add_book(partnercrmd_app, dc)
    [eamon] = (await find(api, "+44 20 7946 0456"))[book_id]["Records"]
    await api.call("POST", "DoAction", actionId=action(eamon, "Open"))
    origin = f"http://127.0.0.1:{api.client.port}"
    [url] = partnercrmd_opener.urls
    assert url.startswith(f"{origin}/records/")
    page = await api.client.get(url.removeprefix(origin))
    assert page.status == 200
    html = await page.text()
    assert "Eamon O&#39;Neill" in html and "0161.496.0789" in html


# --- paged results ------------------------------------------------------------------------------------


def test_the_number_index_reads_every_user_through_paged_results(dc: SambaDC, tmp_path: Path) -> None:
    # 1,100 bulk people: more than a page of the add-in's paged search (500) and than the DC's MaxPageSize
    # (1000), which ends a search that is not paged.
    results = checks(dc, tmp_path)
    index = next(r for r in results if r[0] == "index")
    assert index[1], index
    assert f"holds {NUMBERS} phone numbers" in index[3]
    connector = open_book(dc, tmp_path)
    try:
        last = f"+44 113 496 {BULK_PEOPLE - 1:04}"
        assert [c.name for c in connector.search(number_query(last))] == [f"Bulk Person {BULK_PEOPLE - 1:04}"]
    finally:
        connector.close()


# --- TLS with the DC's own certificate ----------------------------------------------------------------


async def test_start_tls_with_the_dcs_own_ca_works(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC
) -> None:
    book_id = await add_book(partnercrmd_app, dc, url=dc.ldap_url, start_tls=True)
    assert names((await find(api, "+44 20 7946 0958"))[book_id]) == ["Dana Whitfield"]


@pytest.mark.parametrize("transport", [{}, {"start_tls": True}])
async def test_a_ca_that_did_not_sign_the_dcs_certificate_is_refused(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC, tmp_path: Path, transport: dict[str, Any]
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Other CA",
            "-keyout",
            str(tmp_path / "other.key"),
            "-out",
            str(other_ca),
        ],
        check=True,
        capture_output=True,
    )
    url = dc.ldap_url if transport else dc.ldaps_url
    book_id = await add_book(partnercrmd_app, dc, url=url, ca_file=str(other_ca), **transport)
    books = await find(api, "+44 20 7946 0958")
    assert books[book_id]["Records"] == []
    text = books[book_id]["ExceptionText"]
    assert "certificate verify failed" in text and "'ca_file'" in text, text


def test_a_certificate_for_another_name_says_how_to_name_it(dc: SambaDC, tmp_path: Path) -> None:
    *_, (check, ok, key, message) = checks(dc, tmp_path, tls_server_name="")
    assert (check, ok, key) == ("reach", False, "cannot_connect")
    assert message == (
        f"The certificate of {dc.ldaps_url} is trusted but not issued for '127.0.0.1'; use the name it was issued "
        "for (the server's full DNS name, e.g. dc1.corp.example.com) in 'url', or set 'tls_server_name' to it."
    )


def test_plain_ldap_is_refused_by_the_dc_and_the_check_says_to_encrypt(dc: SambaDC, tmp_path: Path) -> None:
    *_, (check, ok, key, message) = checks(dc, tmp_path, url=dc.ldap_url)
    assert (check, ok, key) == ("authenticate", False, "cannot_connect")
    assert message.startswith(f"The LDAP server at {dc.ldap_url} accepts logins only over an encrypted connection")


# --- the DC's change counter and the whenChanged time bound --------------------------------------------


ROOT_DSE = ("search", "", "(objectClass=*)", "BASE")


def test_a_number_nobody_has_costs_one_read_of_the_dcs_change_counter(dc: SambaDC, tmp_path: Path) -> None:
    """With the index filled and nothing changed on the DC since, the index holds every number: the DC is asked
    only for its highestCommittedUSN, not to compare a number pattern with every user (a scan: about 100 ms of
    Samba's CPU with 10,000 users, docs/performance.md)."""
    connector = open_book(dc, tmp_path)
    try:
        assert connector.index is not None
        connector.index.refresh(connector.index_fill)
        synced = connector.index.synced()
        assert synced is not None and synced.server.startswith("CN=VM,CN=Servers,")
        sent = Sent(connector)
        for number in ("+44 113 496 9999", "0161 496 0999", "+1 202 555 0199"):
            assert connector.search(number_query(number)) == [], number
        assert sent.calls == [ROOT_DSE] * 3
        assert contact_names(connector.search(number_query("+44 20 7946 0958"))) == ["Dana Whitfield"]
    finally:
        connector.close()


def test_a_user_changed_while_the_book_is_open_is_found_by_catching_up_with_the_dc(dc: SambaDC, tmp_path: Path) -> None:
    connector = open_book(dc, tmp_path)
    try:
        assert connector.index is not None
        connector.index.refresh(connector.index_fill)
        before = connector.index.synced()
        assert before is not None
        dn = f"CN=Bulk Person 0007,{USERS}"
        dc.ldb("ldbmodify", f"dn: {dn}\nchangetype: modify\nadd: mobile\nmobile: 07700 900777\n")
        sent = Sent(connector)
        assert contact_names(connector.search(number_query("+44 7700 900777"))) == ["Bulk Person 0007"]
        # The counter, then the users changed since the fill (uSNChanged), then the user read by DN: no scan for
        # the number's pattern.
        assert sent.calls[0] == ROOT_DSE
        assert sent.calls[1][:2] == ("pages", BASE_DN) and f"(uSNChanged>={before.usn + 1})" in sent.calls[1][2]
        assert sent.scopes()[2:] == [(dn, "BASE")]
        after = connector.index.synced()
        assert after is not None and after.usn > before.usn
        # Caught up: the next unknown number is one read of the counter again.
        sent.clear()
        assert connector.search(number_query("+44 7700 900778")) == []
        assert sent.calls == [ROOT_DSE]
    finally:
        dc.ldb("ldbmodify", f"dn: {dn}\nchangetype: modify\ndelete: mobile\nmobile: 07700 900777\n")
        connector.close()


def test_the_bound_leaves_out_users_unchanged_since_the_fill(dc: SambaDC, tmp_path: Path) -> None:
    # Bulk Person 0042 was last changed in 2025. Taken out of the local index, its number is only found by a
    # server search; the bounded one does not look at entries that old, the unbounded one finds it. (The index
    # is made to hold no change counter, as one filled by a version before the counter was read: the bound is
    # then what keeps the search small.)
    number = number_query("+44 113 496 0042")
    dn = f"CN=Bulk Person 0042,{USERS}"
    for modified_attribute, found in (("preset", []), ("", ["Bulk Person 0042"])):
        connector = open_book(dc, tmp_path / (modified_attribute or "unbounded"), modified_attribute=modified_attribute)
        try:
            assert connector.index is not None
            connector.index.refresh(connector.index_fill)
            connector.index._store_synced(None)
            connector.index.forget(dn)
            assert contact_names(connector.search(number)) == found, modified_attribute
        finally:
            connector.close()


def by_name(connector: LdapBook, text: str) -> list[str]:
    return contact_names(connector.search(SearchQuery(text, limit=10)))


def test_a_name_search_reads_only_the_users_the_name_index_finds(dc: SambaDC, tmp_path: Path) -> None:
    """Samba (like Active Directory) has no index for `(displayName=*word*)` and compares it with every user: about
    300 ms of its CPU per name search with 10,000 users (docs/performance.md). With the index filled and nothing
    changed since, a name search is one read of the DC's change counter and a read by DN of each user found."""
    connector = open_book(dc, tmp_path)
    try:
        assert connector.index is not None
        connector.index.refresh(connector.index_fill)
        assert connector.index.holds_names()
        sent = Sent(connector)
        assert by_name(connector, "dana NORTHWIND") == ["Dana Whitfield"]
        assert sent.calls[0] == ROOT_DSE
        assert sent.scopes()[1:] == [(f"CN=Dana Whitfield,{USERS}", "BASE")]
        sent.clear()
        assert by_name(connector, "northwind") == ["Dana Whitfield", "Eamon O'Neill"]
        assert by_name(connector, "Zoë société") == ["Zoë Lefèvre"]  # accents and case folded, as the DC compares
        assert by_name(connector, "o'neill") == ["Eamon O'Neill"]
        assert by_name(connector, "Fabrikam (US)") == ["Frank Ocampo"]
        assert by_name(connector, "eamon.oneill@northwind") == ["Eamon O'Neill"]  # e-mail
        assert by_name(connector, "person0042") == ["Bulk Person 0042"]
        assert by_name(connector, "a)(objectClass=*") == []
        assert len(connector.search(SearchQuery("bulk person", limit=7))) == 7
        assert {scope for _, scope in sent.scopes()} == {"BASE"}  # the counter and users by DN: no subtree search
    finally:
        connector.close()


def display_name_ldif(dn: str, name: str) -> str:
    return f"dn: {dn}\nchangetype: modify\nreplace: displayName\ndisplayName: {name}\n"


def test_names_changed_on_the_dc_while_the_book_is_open_are_found_by_catching_up(dc: SambaDC, tmp_path: Path) -> None:
    connector = open_book(dc, tmp_path)
    renamed = f"CN=Bulk Person 0007,{USERS}"
    added = f"CN=Ottilie Brandauer,{USERS}"
    try:
        assert connector.index is not None
        connector.index.refresh(connector.index_fill)
        before = connector.index.synced()
        assert before is not None
        dc.ldb("ldbmodify", display_name_ldif(renamed, "Quillon Marchetti"))
        dc.ldb("ldbadd", user("Ottilie Brandauer", "ottilie", givenName="Ottilie", sn="Brandauer"))
        sent = Sent(connector)
        assert by_name(connector, "marchetti") == ["Quillon Marchetti"]
        # The counter, then the users changed since the fill (uSNChanged, with their names), then the user by DN.
        assert sent.calls[0] == ROOT_DSE
        assert sent.calls[1][:2] == ("pages", BASE_DN) and f"(uSNChanged>={before.usn + 1})" in sent.calls[1][2]
        assert sent.scopes()[2:] == [(renamed, "BASE")]
        assert by_name(connector, "bulk person 0007") == []  # its old display name
        assert by_name(connector, "person0007") == ["Quillon Marchetti"]  # its surname is unchanged
        assert by_name(connector, "ottilie") == ["Ottilie Brandauer"]
        # A deleted user is not among the changed ones a search reads (AD moves it to Deleted Objects): its read by
        # DN finds nothing, and the index forgets it.
        dc.ldb("ldbdel", "", added)
        assert by_name(connector, "brandauer") == []
        assert connector.index.find_names(["brandauer"], 5) == []
    finally:
        dc.ldb("ldbmodify", display_name_ldif(renamed, "Bulk Person 0007"))
        subprocess.run(["ldbdel", "-H", str(dc.sam_ldb), added], capture_output=True, check=False)
        connector.close()


def test_an_index_without_names_sends_name_searches_to_the_dc_until_it_is_filled(dc: SambaDC, tmp_path: Path) -> None:
    """An index file of the add-in's earlier version holds numbers and the change counter, but no names: name
    searches go to the DC (its substring search) until the next fill has read them."""
    connector = open_book(dc, tmp_path)
    assert connector.index is not None
    connector.index.refresh(connector.index_fill)
    path = connector.index.path
    connector.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'names_schema'")  # as written before names were kept
    db.close()
    connector = open_book(dc, tmp_path)
    try:
        assert connector.index is not None
        assert connector.index.synced() is not None and not connector.index.holds_names()
        sent = Sent(connector)
        assert by_name(connector, "whitfield") == ["Dana Whitfield"]
        assert [(base, scope) for _, base, search_filter, scope in sent.calls if "=*whitfield*" in search_filter] == [
            (BASE_DN, "SUBTREE")
        ]
        connector.index.refresh(connector.index_fill)
        assert connector.index.holds_names()
        sent.clear()
        assert by_name(connector, "whitfield") == ["Dana Whitfield"]
        assert {scope for _, scope in sent.scopes()} == {"BASE"}
    finally:
        connector.close()


# --- bind forms, wrong credentials, Test connection -----------------------------------------------------


@pytest.mark.parametrize("bind_dn", [SERVICE_UPN, f"{DOMAIN}\\partnercrmd", SERVICE_DN])
def test_every_bind_form_of_ad_logs_in(dc: SambaDC, tmp_path: Path, bind_dn: str) -> None:
    results = checks(dc, tmp_path, bind_dn=bind_dn)
    assert [(c, ok) for c, ok, _, _ in results] == [
        ("reach", True),
        ("authenticate", True),
        ("search", True),
        ("index", True),
    ]
    assert results[1][3] == f"Logged in as '{bind_dn}'."


async def test_a_wrong_password_is_invalid_auth(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC, tmp_path: Path
) -> None:
    book_id = await add_book(partnercrmd_app, dc, password="not-the-Password-42")
    text = (await find(api, "+44 20 7946 0958"))[book_id]["ExceptionText"]
    assert text == f"The LDAP server refused the login ('{SERVICE_UPN}'); check the settings 'bind_dn' and 'password'."
    *_, last = checks(dc, tmp_path, password="not-the-Password-42")
    assert last[:3] == ("authenticate", False, "invalid_auth")


@pytest.mark.parametrize(
    ("overrides", "failing", "error_key"),
    [
        ({"url": "ldaps://127.0.0.1:1"}, "reach", "cannot_connect"),
        ({"bind_dn": "nobody@example.test"}, "authenticate", "invalid_auth"),
        ({"base_dn": "OU=Nowhere,DC=example,DC=test"}, "search", "not_found"),
        ({"search_filter": "(department=Nobody)"}, "search", "not_found"),
        ({"activity_attribute": "info"}, "log", "invalid_auth"),  # an ordinary user may not write others' info
        ({"activity_attribute": "callLog"}, "log", "invalid_data"),
    ],
)
def test_check_names_the_failing_step_with_a_stable_key(
    dc: SambaDC, tmp_path: Path, overrides: dict[str, Any], failing: str, error_key: str
) -> None:
    *passed, last = checks(dc, tmp_path, **overrides)
    assert all(ok for _, ok, _, _ in passed)
    assert last[:3] == (failing, False, error_key), last


def cli_sets(settings: dict[str, Any]) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]


def test_books_add_checks_the_dc_and_books_test_runs_every_step(
    partnercrmd_home: Paths, dc: SambaDC, capsys: pytest.CaptureFixture[str]
) -> None:
    # Plain LDAP: the DC wants encryption; `add` says what to change and saves nothing.
    plain = cli_sets(ad_settings(dc, url=dc.ldap_url))
    assert run_cli(["books", "add", "active-directory", "--name", "AD", *plain]) != 0
    refused = capsys.readouterr()
    assert "accepts logins only over an encrypted connection" in refused.out + refused.err
    assert run_cli(["books", "add", "active-directory", "--name", "AD", *cli_sets(ad_settings(dc))]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "AD"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"ok   reach: The LDAP server at {dc.ldaps_url} answers."
    assert lines[1] == f"ok   authenticate: Logged in as '{SERVICE_UPN}'."
    assert not any(SERVICE_PASSWORD in line for line in lines)


# --- writing: calls logged into info, new contacts ------------------------------------------------------

CALL = {
    "Direction": "Inbound",
    "CallerNumber": "+44 20 7946 0456",
    "CalledNumber": "+44 20 7946 0100",
    "StartTimeUtc": "2026-11-25T14:03:00Z",
    "DurationSeconds": 125,
    "Notes": "Asked for the new price list.",
}
ADMIN = {"bind_dn": ADMIN_UPN, "password": ADMIN_PASSWORD}


async def test_log_call_appends_to_info_read_back_with_ldbsearch(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC
) -> None:
    book_id = await add_book(partnercrmd_app, dc, activity_attribute="info", **ADMIN)
    [eamon] = (await find(api, "+44 20 7946 0456"))[book_id]["Records"]
    for notes in ("first call", "second call"):
        await api.call("POST", "DoAction", actionId=action(eamon, "LogActivity"), **{**CALL, "Notes": notes})
    [text] = dc.values(USERS, "(sAMAccountName=eamon)", "info")
    assert text.index("first call") < text.index("second call")
    assert text.count("Incoming call: +44 20 7946 0456 -> +44 20 7946 0100") == 2


async def test_a_created_contact_is_an_ad_contact_found_by_number_and_name(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC
) -> None:
    book_id = await add_book(partnercrmd_app, dc, allow_create=True, create_container=USERS, **ADMIN)
    fields = {"FirstName": "Grace", "LastName": "Hopper", "Phone": "+44 20 7946 0777"}
    created = await api.call("POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", **fields)
    assert created["DisplayText"] == "Grace Hopper"
    text = dc.search(USERS, "(sn=Hopper)", "objectClass", "telephoneNumber")
    assert "objectClass: contact" in text and "telephoneNumber: +44 20 7946 0777" in text
    assert names((await find(api, "020 7946 0777"))[book_id]) == ["Grace Hopper"]
    assert names((await find(api, "grace hopper"))[book_id]) == ["Grace Hopper"]


# --- the DC stopped mid-test (last: it restarts the session's DC) ----------------------------------------


async def test_a_dc_stopped_mid_test_is_an_exception_text_and_found_again_after_restart(
    api: ApiSession, partnercrmd_app: web.Application, dc: SambaDC
) -> None:
    book_id = await add_book(partnercrmd_app, dc, index_minutes=0)
    assert names((await find(api, "+44 20 7946 0958", timeoutMs=3000))[book_id]) == ["Dana Whitfield"]
    dc.stop()
    try:
        started = time.monotonic()
        text = (await search(api, "+44 20 7946 0958", timeoutMs=1500))[book_id]["ExceptionText"]
        assert time.monotonic() - started < 3
        assert text == (
            f"Cannot reach the LDAP server at {dc.ldaps_url} (connection refused); check the setting 'url' "
            "and that the server is running."
        )
    finally:
        dc.start()
    assert names((await find(api, "+44 20 7946 0958", timeoutMs=3000))[book_id]) == ["Dana Whitfield"]
