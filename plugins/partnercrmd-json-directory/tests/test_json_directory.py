"""The json-directory add-in, installed as its own distribution, driven through a real daemon's HTTP API."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import partnercrmd_json_directory
import pytest
from aiohttp import web
from partnercrmd_json_directory import JSON_DIRECTORY, client
from partnercrmd_json_directory.connector import JsonDirectory

from partnercrmd.sdk import BookContext, ConfigError, SearchQuery
from partnercrmd.testing import (
    DISABLE_ENV,
    ApiSession,
    Paths,
    RecordingOpener,
    addin_host,
    by_book,
    configure_book,
    names,
    number_query,
    remove_default_book,
    run_cli,
    search,
)

DANA: dict[str, Any] = {
    "id": "p-100",
    "name": "Dana Whitfield",
    "company": "Northwind Traders",
    "title": "Head of Sales",
    "email": "dana.whitfield@northwind.example",
    "phones": {"business": "020-7946-0123", "mobile": "07700 900123"},
    "department": "Sales",
}
EAMON: dict[str, Any] = {
    "id": 101,
    "name": "Eamon O'Neill",
    "company": "Northwind Traders",
    "title": "Engineer",
    "email": "eamon.oneill@northwind.example",
    "phones": {"business": "+44 20 7946 0456", "home": "0161 496 0789"},
}
ZOE: dict[str, Any] = {
    "id": "contoso/7",
    "name": "Zoë Lefèvre",
    "company": "Société Contoso",
    "email": "zoe@contoso.example",
    "phones": {"fax": "+33 1 42 68 53 01"},
}
PEOPLE = [DANA, EAMON, ZOE]
INTRANET = "https://intranet.example/people/{id}"


def write_people(path: Path, content: object) -> None:
    """Write the directory file and make sure its stamp changes even on a file system with coarse times."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, indent=1)
    existed = path.exists()
    before = path.stat().st_mtime_ns if existed else 0
    path.write_text(text, encoding="utf-8")
    if existed:
        later = max(path.stat().st_mtime_ns, before + 1_000_000_000)
        os.utime(path, ns=(later, later))


@pytest.fixture
def directory_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.json"
    write_people(path, PEOPLE)
    return path


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {field["DescriptorId"]: field["Value"] for field in record["Fields"]}


def open_action(record: dict[str, Any]) -> str:
    return str(next(a["ActionId"] for a in record["Actions"] if a["SpecialKind"] == "Open"))


# --- discovery ----------------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point_in_its_own_distribution(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    found = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found["json-directory"].value == "partnercrmd_json_directory"
    dist = found["json-directory"].dist
    assert dist is not None and dist.name == "partnercrmd-json-directory"

    host = addin_host(partnercrmd_app)
    info = host.addins["json-directory"]
    assert (info.distribution, info.version) == ("partnercrmd-json-directory", partnercrmd_json_directory.__version__)
    assert not info.builtin and info.error is None and not info.disabled
    assert host.provider("json-directory") == info
    assert host.integration("json-directory") is JSON_DIRECTORY


async def test_a_configured_directory_is_listed_with_its_type_and_capabilities(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path
) -> None:
    book_id = await configure_book(partnercrmd_app, "json-directory", name="Staff", path=str(directory_file))
    books = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}
    staff = books[book_id]
    assert (staff["Name"], staff["CrmAddinTypeId"], staff["Status"]) == ("Staff", "json-directory", "Ready")
    assert staff["Type"]["TypeFullName"] == "Company directory (JSON file)"
    assert staff["Type"]["Capabilities"] == ["Pop", "SearchByName", "SearchByNumber"]
    assert staff["Type"]["GuideUrl"].startswith("https://")
    assert staff["HasSearchFeature"] and not staff["HasModifyFeature"]
    assert not staff["HasActivityActionFeatureCreate"] and not staff["HasActivityActionFeatureShow"]


@pytest.fixture
def json_directory_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "json-directory")


@pytest.mark.usefixtures("json_directory_disabled")
async def test_partnercrmd_disable_addins_leaves_it_out(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path
) -> None:
    host = addin_host(partnercrmd_app)
    assert host.addins["json-directory"].disabled
    assert host.integration("json-directory") is None
    with pytest.raises(ConfigError, match="disabled"):
        await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    assert names(by_book(await api.call("POST", "Search", query="Alice"))["local"]) == ["Alice Hartley"]


# --- search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["+442079460123", "+44 20 7946 0123", "020 7946 0123", "0044 20 7946 0123"])
async def test_caller_is_found_whatever_the_number_format(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path, query: str
) -> None:
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    staff = (await search(api, query))[book_id]
    assert staff["ExceptionText"] == ""
    assert names(staff) == ["Dana Whitfield"]
    shown = fields(staff["Records"][0])
    assert shown["CompanyName"] == "Northwind Traders"
    assert shown["JobTitle"] == "Head of Sales"
    assert shown["BusinessPhone"] == "020-7946-0123"  # as the file writes it
    assert shown["MobilePhone"] == "07700 900123"
    assert shown["Email"] == "dana.whitfield@northwind.example"
    assert shown["department"] == "Sales"


async def test_every_phone_kind_is_searched_and_strangers_find_no_one(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path
) -> None:
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    assert names((await search(api, "+447700900123"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "+44 161 496 0789"))[book_id]) == ["Eamon O'Neill"]
    assert names((await search(api, "+33 1 42 68 53 01"))[book_id]) == ["Zoë Lefèvre"]
    stranger = (await search(api, "+44 20 7946 0999"))[book_id]
    assert stranger["Records"] == [] and stranger["ExceptionText"] == ""


async def test_name_search_needs_every_word_in_name_company_or_email(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path
) -> None:
    await remove_default_book(partnercrmd_app)
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    assert names((await search(api, "northwind"))[book_id]) == ["Dana Whitfield", "Eamon O'Neill"]
    assert names((await search(api, "dana NORTHWIND"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "eamon.oneill@"))[book_id]) == ["Eamon O'Neill"]
    assert names((await search(api, "zoe societe"))[book_id]) == ["Zoë Lefèvre"]  # accents ignored
    assert names((await search(api, "dana contoso"))[book_id]) == []
    assert names((await search(api, "engineer"))[book_id]) == []  # titles are shown, not searched


async def test_changes_to_the_file_are_seen_without_reconfiguring(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path
) -> None:
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    assert names((await search(api, "Frank"))[book_id]) == []
    frank = {"id": "p-103", "name": "Frank Ocampo", "phones": {"mobile": "07700 900456"}}
    write_people(directory_file, [*PEOPLE, frank])
    assert names((await search(api, "Frank"))[book_id]) == ["Frank Ocampo"]
    assert names((await search(api, "07700900456"))[book_id]) == ["Frank Ocampo"]


# --- popping ------------------------------------------------------------------------------------------


async def test_open_pops_the_person_on_the_intranet(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, directory_file: Path
) -> None:
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file), url_template=INTRANET)
    dana = (await search(api, "+44 20 7946 0123"))[book_id]["Records"][0]
    assert {a["SpecialKind"] for a in dana["Actions"]} == {"Open"}  # no edit, logging or activities
    await api.call("POST", "DoAction", actionId=open_action(dana))
    zoe = (await search(api, "Zoë"))[book_id]["Records"][0]
    await api.call("POST", "DoAction", actionId=open_action(zoe))
    assert partnercrmd_opener.urls == [
        "https://intranet.example/people/p-100",
        "https://intranet.example/people/contoso%2F7",  # the id is one path segment, whatever it holds
    ]


async def test_without_a_url_template_the_person_opens_on_partnercrmds_own_page(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, directory_file: Path
) -> None:
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    eamon = (await search(api, "eamon"))[book_id]["Records"][0]
    await api.call("POST", "DoAction", actionId=open_action(eamon))
    [url] = partnercrmd_opener.urls
    assert url.startswith(f"http://127.0.0.1:{api.client.port}/records/")
    page = await api.client.get(url.removeprefix(f"http://127.0.0.1:{api.client.port}"))
    assert page.status == 200
    html = await page.text()
    assert "Eamon O&#39;Neill" in html and "0161 496 0789" in html  # the page reads the person with get()


# --- failures -----------------------------------------------------------------------------------------


async def test_a_broken_file_is_reported_in_its_slot_while_the_local_book_answers(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path
) -> None:
    write_people(directory_file, '[{"id": "p-100", "name": "Dana"')
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    books = await search(api, "+44 20 7946 0958")
    assert names(books["local"]) == ["Alice Hartley"] and books["local"]["ExceptionText"] == ""
    assert books[book_id]["Records"] == []
    assert books[book_id]["ExceptionText"].startswith(f"The directory file {directory_file} is not valid JSON (line 1")

    write_people(directory_file, PEOPLE)  # mended: no reconfiguring, no restart
    books = await search(api, "+44 20 7946 0123")
    assert books[book_id]["ExceptionText"] == "" and names(books[book_id]) == ["Dana Whitfield"]


async def test_a_missing_file_is_reported_until_it_appears(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path
) -> None:
    path = tmp_path / "later.json"
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(path))
    assert (await search(api, "Dana"))[book_id]["ExceptionText"] == (
        f"The directory file {path} does not exist; check the setting 'path'."
    )
    write_people(path, PEOPLE)
    assert names((await search(api, "Dana"))[book_id]) == ["Dana Whitfield"]


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"url_template": "https://intranet.example/people"}, "The setting 'url_template' must contain {id}"),
    ],
)
async def test_settings_the_add_in_cannot_use_make_the_book_unavailable(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path, settings: dict[str, str], reason: str
) -> None:
    book_id = await configure_book(partnercrmd_app, "json-directory", **{"path": str(directory_file), **settings})
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert listed["Status"] == "Unavailable"
    assert listed["ExceptionText"].startswith(f"The address book could not be opened: {reason}")
    assert names((await search(api, "Alice"))["local"]) == ["Alice Hartley"]


# --- `partnercrmd books test`: the connector's test() ------------------------------------------------


@contextmanager
def open_connector(path: Path, **settings: str) -> Iterator[JsonDirectory]:
    """The connector as `partnercrmd books test` opens it: straight from the integration, outside the daemon."""
    context = BookContext("staff", "Staff", {"path": str(path), **settings}, path.parent, "GB")
    connector = JSON_DIRECTORY.open(context)
    assert isinstance(connector, JsonDirectory)
    try:
        yield connector
    finally:
        connector.close()


def test_the_add_in_itself_returns_only_real_matches(directory_file: Path) -> None:
    # The host verifies numbers too; this shows the add-in does not lean on that.
    with open_connector(directory_file) as connector:
        assert [c.name for c in connector.search(number_query("020 7946 0123"))] == ["Dana Whitfield"]
        assert [c.name for c in connector.search(number_query("+44 20 7946 0999"))] == []
        assert [c.name for c in connector.search(SearchQuery("northwind", limit=1))] == ["Dana Whitfield"]
        dana = connector.get("p-100")
        assert dana is not None and dana.emails == ["dana.whitfield@northwind.example"]
        dana.phones.clear()  # a caller's change never reaches the cache
        assert connector.get("p-100") == connector.search(number_query("07700 900123"))[0]
        assert connector.get("p-999") is None
        assert connector.record_url("p-100", edit=True) is None


def test_check_of_a_good_file_counts_its_entries(directory_file: Path) -> None:
    with open_connector(directory_file, url_template=INTRANET) as connector:
        results = connector.test()
        assert [(r.check, r.ok) for r in results] == [
            ("file", True),
            ("json", True),
            ("entries", True),
            ("url_template", True),
        ]
        assert results[2].message == "3 entries with 5 phone numbers."
        assert results[3].message == "Records open at addresses such as https://intranet.example/people/p-100."


@pytest.mark.parametrize(
    ("content", "check", "error_key", "message"),
    [
        (None, "file", "cannot_connect", "does not exist"),
        ("[{]", "json", "invalid_data", "is not valid JSON (line 1, column 3"),
        ('{"people": []}', "json", "invalid_data", "must hold a JSON list of people, not an object"),
        ([DANA, {"name": "Nobody"}], "entries", "invalid_data", "Entry 2 of the directory file has no 'id'"),
        ([DANA, {**EAMON, "id": "p-100"}], "entries", "invalid_data", "Entries 1 and 2 of the directory file share"),
        ([{"id": 1, "phones": {"pager": "123"}}], "entries", "invalid_data", "unknown phone kind 'pager'"),
        ([{"id": 1, "phones": {"business": 2079460123}}], "entries", "invalid_data", "must be text in quotes"),
        ([{"id": 1, "name": ["Dana"]}], "entries", "invalid_data", "'name' must be text, not a list"),
    ],
)
def test_check_of_a_bad_file_says_what_to_fix(
    tmp_path: Path, content: object, check: str, error_key: str, message: str
) -> None:
    path = tmp_path / "people.json"
    if content is not None:
        write_people(path, content)
    with open_connector(path) as connector:
        results = connector.test()
        *passed, failed = results
        assert all(r.ok for r in passed)
        assert (failed.check, failed.ok, failed.error_key) == (check, False, error_key)
        assert message in failed.message


def test_books_test_command_runs_the_check(
    partnercrmd_home: Paths, directory_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["books", "add", "json-directory", "--name", "Staff", "--set", f"path={directory_file}"]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Staff"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"ok   file: {directory_file} can be read ({directory_file.stat().st_size:,} bytes).",
        "ok   json: The file holds a JSON list.",
        "ok   entries: 3 entries with 5 phone numbers.",
    ]
    write_people(directory_file, "not json")
    assert run_cli(["books", "test", "Staff"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAIL json: The directory file")


async def test_concurrent_searches_share_one_read_of_the_file(
    api: ApiSession, partnercrmd_app: web.Application, directory_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    load = client.load_directory

    def counting_load(path: Path, id_field: str, region: str | None) -> client.Directory:
        reads.append(path)
        time.sleep(0.1)  # a slow disk: the other searches arrive while the file is being read
        return load(path, id_field, region)

    monkeypatch.setattr(client, "load_directory", counting_load)
    book_id = await configure_book(partnercrmd_app, "json-directory", path=str(directory_file))
    answers = await asyncio.gather(*(search(api, query) for query in ["northwind", "+44 20 7946 0456"] * 10))
    assert all(a[book_id]["ExceptionText"] == "" for a in answers)
    assert {tuple(names(a[book_id])) for a in answers} == {("Dana Whitfield", "Eamon O'Neill"), ("Eamon O'Neill",)}
    assert reads == [directory_file]
