"""The SQL add-in, installed as its own distribution, against real PostgreSQL 15 and MariaDB servers and SQLite files.

Most tests run once per backend (the `book` fixture gives each test fresh tables holding the
same three people); the tests of a server (wrong password, a login that may only read, the
server stopped mid-test, `books test`) run once per server (`server_book`). The PostgreSQL and
MariaDB servers start once per session. What the add-in writes is read back with the
database's own client, never through the add-in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import partnercrmd_sql
import pytest
from aiohttp import web
from partnercrmd_sql import SQL, SqlBook
from partnercrmd_sql.sqltext import Statement
from sql_test_support import (
    APP_PASSWORD,
    PNG_PIXEL,
    Backend,
    Book,
    MariaDbBackend,
    MariaDbBook,
    MariaDbServer,
    PostgresBackend,
    PostgresBook,
    PostgresServer,
    SqliteBackend,
    make_certificates,
)

from partnercrmd.sdk import BookContext, ConfigError, SearchQuery
from partnercrmd.testing import (
    ApiSession,
    Paths,
    RecordingOpener,
    action,
    addin_host,
    configure_book,
    names,
    number_query,
    remove_default_book,
    run_cli,
    search,
)

FORMATS = ("+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958")
CRM_PAGE = "https://crm.example/contacts/{id}"
CRM_EDIT = "https://crm.example/contacts/{id}/edit"


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path_factory.mktemp("sqlite"))
    if request.param == "mariadb":
        return MariaDbBackend(request.getfixturevalue("mariadb"))
    return PostgresBackend(request.getfixturevalue("postgres"))


@pytest.fixture
def book(backend: Backend) -> Iterator[Book]:
    opened = backend.new_book()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=["postgresql", "mariadb"])
def server_book(request: pytest.FixtureRequest) -> Iterator[PostgresBook | MariaDbBook]:
    """A book on a database server (the tests of logins, permissions and a server that stops)."""
    opened: PostgresBook | MariaDbBook
    if request.param == "mariadb":
        opened = MariaDbBook(request.getfixturevalue("mariadb"))
    else:
        opened = PostgresBook(request.getfixturevalue("postgres"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def pg_book(postgres: PostgresServer) -> Iterator[PostgresBook]:
    opened = PostgresBook(postgres)
    try:
        yield opened
    finally:
        opened.close()


# --- helpers ------------------------------------------------------------------------------------------


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {f["Name"]: f["Value"] for f in record["Fields"]}


@contextmanager
def connector(settings: dict[str, Any], tmp_path: Path) -> Iterator[SqlBook]:
    """The connector as `partnercrmd books test` opens it: straight from the integration."""
    opened = SQL.open(BookContext("crm", "CRM", settings, tmp_path, "GB"))
    assert isinstance(opened, SqlBook)
    try:
        yield opened
    finally:
        opened.close()


# --- installation -------------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point(api: ApiSession, partnercrmd_app: web.Application) -> None:
    found = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found["sql"].value == "partnercrmd_sql"
    info = addin_host(partnercrmd_app).addins["sql"]
    assert (info.distribution, info.version) == ("partnercrmd-sql", partnercrmd_sql.__version__)
    assert info.error is None and not info.builtin
    assert addin_host(partnercrmd_app).integration("sql") is SQL
    password = SQL.config_field("password")
    assert password is not None and password.secret


# --- search -------------------------------------------------------------------------------------------


async def test_caller_is_found_whatever_the_number_format(
    api: ApiSession, partnercrmd_app: web.Application, book: Book
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    for text in FORMATS:  # stored as "+44 (0)20 7946-0958"; Eamon's 0113 946 0958 shares the last 7 digits
        found = (await search(api, text))[book_id]
        assert names(found) == ["Dana Whitfield"], text
    dana = fields(found["Records"][0])
    assert dana["Business Phone"] == "+44 (0)20 7946-0958"
    assert dana["Company"] == "Northwind Traders" and dana["Email"] == "dana.whitfield@northwind.example"
    zoe = (await search(api, "+33 1 42 68 53 00"))[book_id]
    assert names(zoe) == ["Zoë Lefèvre"] and fields(zoe["Records"][0])["Mobile Phone"] == "0033 1 42 68 53 00"
    assert names((await search(api, "0113 946 0958"))[book_id]) == ["Eamon O'Neill"]
    assert names((await search(api, "+44 20 7946 0999"))[book_id]) == []


async def test_name_search_needs_every_word_and_binds_what_is_typed(
    api: ApiSession, partnercrmd_app: web.Application, book: Book, backend: Backend
) -> None:
    await remove_default_book(partnercrmd_app)
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    assert names((await search(api, "whitfield"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "northwind"))[book_id]) == ["Eamon O'Neill", "Dana Whitfield"]  # by last name
    assert names((await search(api, "DANA northwind"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "o'neill"))[book_id]) == ["Eamon O'Neill"]
    assert names((await search(api, "Zoë"))[book_id]) == ["Zoë Lefèvre"]
    assert names((await search(api, "zoe@contoso"))[book_id]) == ["Zoë Lefèvre"]
    if backend.name in {"sqlite", "mariadb"}:  # fold() and MariaDB's utf8mb4 collation ignore accents; ILIKE does not
        assert names((await search(api, "zoe societe"))[book_id]) == ["Zoë Lefèvre"]
    assert names((await search(api, "%"))[book_id]) == []  # LIKE wildcards typed by the user match themselves
    assert names((await search(api, "'; DROP TABLE contacts; --"))[book_id]) == []
    assert book.rows("SELECT count(*) FROM {contacts}") == [(3,)]


async def test_pictures_come_with_include_pictures(
    api: ApiSession, partnercrmd_app: web.Application, book: Book
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    with_picture = (await search(api, "+442079460958", includePictures="true"))[book_id]["Records"][0]
    assert fields(with_picture)["Picture"].startswith("data:image/png;base64,iVBORw0KGgo")
    without = (await search(api, "+442079460958"))[book_id]["Records"][0]
    assert "Picture" not in fields(without)


# --- popping ------------------------------------------------------------------------------------------


async def test_open_and_edit_pop_the_crm_pages(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, book: Book
) -> None:
    settings = {**book.settings, "url_template": CRM_PAGE, "edit_url_template": CRM_EDIT}
    book_id = await configure_book(partnercrmd_app, "sql", **settings)
    dana = (await search(api, "02079460958"))[book_id]["Records"][0]
    dana_id = book.rows("SELECT id FROM {contacts} WHERE last_name = ?", ["Whitfield"])[0][0]
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    await api.call("POST", "DoAction", actionId=action(dana, "OpenInEditMode"))
    assert partnercrmd_opener.urls == [
        f"https://crm.example/contacts/{dana_id}",
        f"https://crm.example/contacts/{dana_id}/edit",
    ]


async def test_without_a_url_template_the_contact_opens_on_partnercrmds_page(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, book: Book
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    eamon = (await search(api, "eamon"))[book_id]["Records"][0]
    await api.call("POST", "DoAction", actionId=action(eamon, "Open"))
    [url] = partnercrmd_opener.urls
    page = await api.client.get(url.removeprefix(f"http://127.0.0.1:{api.client.port}"))
    assert page.status == 200
    html = await page.text()
    assert "Eamon O&#39;Neill" in html and "07700 900461" in html  # read with get()


# --- writing ------------------------------------------------------------------------------------------


async def test_a_logged_call_is_in_the_call_log_table(
    api: ApiSession, partnercrmd_app: web.Application, book: Book
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    dana = (await search(api, "+44 20 7946 0958"))[book_id]["Records"][0]
    await api.call(
        "POST",
        "DoAction",
        actionId=action(dana, "LogActivity"),
        Direction="Inbound",
        CallerNumber="+44 20 7946 0958",
        CalledNumber="201",
        StartTimeUtc="2026-11-25T14:03:00Z",
        DurationSeconds=95,
        Notes="Wants a quote for 40 seats.",
    )
    dana_id = book.rows("SELECT id FROM {contacts} WHERE last_name = ?", ["Whitfield"])[0][0]
    [(contact_id, subject, body, direction, started, seconds)] = book.rows(
        "SELECT contact_id, subject, body, direction, started_at, seconds FROM {calls}"
    )
    assert (contact_id, direction, seconds) == (dana_id, "Inbound", 95)
    assert subject == "Incoming call: +44 20 7946 0958 -> 201"
    assert "Duration: 1:35" in body and body.endswith("Wants a quote for 40 seats.")
    start = started if isinstance(started, datetime) else datetime.fromisoformat(started)
    if start.tzinfo is None:  # MariaDB's DATETIME: the add-in writes UTC (its session's time zone)
        start = start.replace(tzinfo=UTC)
    assert start == datetime(2026, 11, 25, 14, 3, tzinfo=UTC)

    shown = (await search(api, "+44 20 7946 0958", includeActivities="true"))[book_id]["Records"][0]
    assert [a["Subject"] for a in shown["Activities"]] == [subject]


async def test_a_created_contact_is_in_the_table_and_found_by_number(
    api: ApiSession, partnercrmd_app: web.Application, book: Book
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book_id}/Contact",
        FirstName="Frank",
        LastName="Ocampo",
        Phone="07700 900123",
        Email="frank@ocampo.example",
    )
    assert created["DisplayText"] == "Frank Ocampo"
    rows = book.rows("SELECT first_name, last_name, work_phone, email FROM {contacts} WHERE last_name = ?", ["Ocampo"])
    assert rows == [("Frank", "Ocampo", "07700 900123", "frank@ocampo.example")]
    assert names((await search(api, "+44 7700 900123"))[book_id]) == ["Frank Ocampo"]


async def test_save_record_changes_the_row(api: ApiSession, partnercrmd_app: web.Application, book: Book) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    dana = (await search(api, "dana"))[book_id]["Records"][0]
    saved = await api.call("POST", "SaveRecord", RecordId=dana["UniqueId"], CompanyName="Contoso", Notes="VIP")
    assert fields(saved)["Company"] == "Contoso"
    assert book.rows("SELECT company, notes FROM {contacts} WHERE last_name = ?", ["Whitfield"]) == [("Contoso", "VIP")]


# --- your own queries ---------------------------------------------------------------------------------

SQLITE_QUERIES = {
    "search_number_query": "SELECT id, first_name, last_name, work_phone FROM {contacts} "
    "WHERE digits(work_phone) LIKE :pattern OR digits(mobile) LIKE :pattern LIMIT :limit",
    "search_name_query": "SELECT id, first_name, last_name, work_phone, company AS department FROM {contacts} "
    "WHERE fold(first_name || ' ' || last_name) LIKE fold(:pattern) ESCAPE '\\' LIMIT :limit",
    "get_query": "SELECT id, first_name, last_name, work_phone FROM {contacts} WHERE id = :id",
    "insert_contact_query": "INSERT INTO {contacts} (first_name, last_name, work_phone) "
    "VALUES (:first_name, :last_name, :phone) RETURNING id",
    "insert_activity_query": "INSERT INTO {calls} (contact_id, subject, started_at, seconds) "
    "VALUES (:contact_id, 'Call: ' || :direction, :start_utc, :duration_seconds)",
}
POSTGRES_QUERIES = {
    **SQLITE_QUERIES,
    "search_number_query": "SELECT id, first_name, last_name, work_phone FROM {contacts} "
    "WHERE regexp_replace(work_phone, '[^0-9]', '', 'g') LIKE :pattern LIMIT :limit",
    "search_name_query": "SELECT id, first_name, last_name, work_phone, company AS department FROM {contacts} "
    "WHERE first_name || ' ' || last_name ILIKE :pattern AND email LIKE '%@%' LIMIT :limit",
    "get_query": "SELECT id, first_name, last_name, work_phone FROM {contacts} WHERE id = CAST(:id AS integer)",
    "insert_activity_query": "INSERT INTO {calls} (contact_id, subject, started_at, seconds) "
    "VALUES (CAST(:contact_id AS integer), 'Call: ' || :direction, :start_utc, :duration_seconds) RETURNING id",
}
MARIADB_QUERIES = {
    "search_number_query": "SELECT id, first_name, last_name, work_phone FROM {contacts} "
    "WHERE REGEXP_REPLACE(work_phone, '[^0-9]', '') LIKE :pattern LIMIT :limit",
    "search_name_query": "SELECT id, first_name, last_name, work_phone, company AS department FROM `{contacts}` "
    "WHERE CONCAT(first_name, ' ', last_name) LIKE :pattern AND email LIKE '%@%' LIMIT :limit",
    "get_query": "SELECT id, first_name, last_name, work_phone FROM {contacts} WHERE id = CAST(:id AS SIGNED)",
    # MariaDB has INSERT … RETURNING; without it (MySQL) the new AUTO_INCREMENT id is used
    "insert_contact_query": "INSERT INTO {contacts} (first_name, last_name, work_phone) "
    "VALUES (:first_name, :last_name, :phone) RETURNING id",
    "insert_activity_query": "INSERT INTO {calls} (contact_id, subject, started_at, seconds) "
    "VALUES (:contact_id, CONCAT('Call: ', :direction), :start_utc, :duration_seconds)",
}
QUERIES = {"sqlite": SQLITE_QUERIES, "postgresql": POSTGRES_QUERIES, "mariadb": MARIADB_QUERIES}


async def test_a_book_of_your_own_queries(
    api: ApiSession, partnercrmd_app: web.Application, book: Book, backend: Backend
) -> None:
    queries = QUERIES[backend.name]
    contacts, calls = (book.settings["table"], book.settings["activity_table"])
    settings: dict[str, Any] = {
        k: book.settings[k] for k in ("driver", "path", "dsn", "password") if k in book.settings
    }
    settings |= {"phone_columns": "work_phone", "first_name_column": "first_name", "last_name_column": "last_name"}
    settings |= {key: sql.format(contacts=contacts, calls=calls) for key, sql in queries.items()}
    book_id = await configure_book(partnercrmd_app, "sql", **settings)

    for text in FORMATS:
        assert names((await search(api, text))[book_id]) == ["Dana Whitfield"], text
    [eamon] = (await search(api, "eamon o'neill"))[book_id]["Records"]
    assert fields(eamon)["department"] == "Northwind Traders"  # columns nobody mapped are shown as they are

    await api.call("POST", "DoAction", actionId=action(eamon, "LogActivity"), Direction="Outbound", CalledNumber="1")
    eamon_id = book.rows("SELECT id FROM {contacts} WHERE first_name = ?", ["Eamon"])[0][0]
    assert book.rows("SELECT contact_id, subject FROM {calls}") == [(eamon_id, "Call: Outbound")]

    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book_id}/Contact",
        FirstName="Gia",
        LastName="Moreno",
        Phone="0161 496 0000",
    )
    assert created["DisplayText"] == "Gia Moreno"
    assert book.rows("SELECT work_phone FROM {contacts} WHERE first_name = ?", ["Gia"]) == [("0161 496 0000",)]
    assert names((await search(api, "+441614960000"))[book_id]) == ["Gia Moreno"]


# --- settings, checks, failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"table": "contacts; DROP TABLE contacts"}, "The setting 'table' must be a plain table or column name"),
        ({"phone_columns": 'work_phone, "mobile"'}, "The setting 'phone_columns' must be a plain"),
        ({"phone_columns": "work_phone:pager"}, "The setting 'phone_columns' gives 'work_phone' the kind 'pager'"),
        ({"url_template": "https://crm.example/contacts"}, "The setting 'url_template' must contain {id}"),
        (
            {"search_name_query": "SELECT * FROM contacts WHERE name = :nme"},
            "The query in the setting 'search_name_query' uses the parameter :nme",
        ),
    ],
)
async def test_settings_the_add_in_cannot_use_make_the_book_unavailable(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path, change: dict[str, str], reason: str
) -> None:
    settings = {"driver": "sqlite", "path": str(tmp_path / "crm.db"), "table": "contacts", **change}
    book_id = await configure_book(partnercrmd_app, "sql", **settings)
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert listed["Status"] == "Unavailable"
    assert listed["ExceptionText"].startswith(f"The address book could not be opened: {reason}")


def test_connection_check_passes_every_step(book: Book, tmp_path: Path) -> None:
    with connector({**book.settings, "url_template": CRM_PAGE}, tmp_path) as sql:
        results = sql.test()
    assert [(r.check, r.ok, r.error_key) for r in results] == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("table", True, None),
        ("search", True, None),
        ("log_activity", True, None),
        ("create_contact", True, None),
        ("url_template", True, None),
    ]
    assert book.rows("SELECT count(*) FROM {calls}") == [(0,)]  # the write checks were rolled back
    assert book.rows("SELECT count(*) FROM {contacts}") == [(3,)]


def test_connection_check_names_a_missing_column(book: Book, tmp_path: Path) -> None:
    with connector({**book.settings, "email_column": "e_mail"}, tmp_path) as sql:
        checks = {r.check: r for r in sql.test()}
    assert not checks["table"].ok and checks["table"].error_key == "invalid_data"
    assert "e_mail" in checks["table"].message and "check the table and column names" in checks["table"].message


def test_number_search_among_ten_thousand_contacts_finds_only_the_caller(book: Book, tmp_path: Path) -> None:
    """Many numbers sharing digits with the caller's; the lookup's speed is measured in bench/, not here."""
    noise = [("P", str(n), f"+1 (212) 555-{n:04d} x{n % 7}") for n in range(10_000)]
    noise += [("Near", "Miss", "+1 415 794 6095")]
    book.many("INSERT INTO {contacts} (first_name, last_name, work_phone) VALUES (?, ?, ?)", noise)
    with connector(book.settings, tmp_path) as sql:
        found = sql.search(number_query("02079460958"))
    assert [c.name for c in found] == ["Dana Whitfield"]


async def test_a_book_without_a_call_log_offers_no_call_actions(
    api: ApiSession, partnercrmd_app: web.Application, book: Book
) -> None:
    settings = {k: v for k, v in book.settings.items() if k != "activity_table"}
    book_id = await configure_book(partnercrmd_app, "sql", **settings)
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert (listed["HasActivityActionFeatureCreate"], listed["HasActivityActionFeatureShow"]) == (False, False)
    dana = (await search(api, "+44 20 7946 0958"))[book_id]["Records"][0]
    assert "LogActivity" not in {a["SpecialKind"] for a in dana["Actions"]}


def test_a_trigram_index_on_the_digits_serves_the_number_search(pg_book: PostgresBook, tmp_path: Path) -> None:
    # README: for big PostgreSQL tables, a pg_trgm index on exactly the add-in's digits expression.
    noise = [("P", str(n), f"+1 (212) 555-{n:04d}") for n in range(10_000)]
    pg_book.many("INSERT INTO {contacts} (first_name, last_name, work_phone) VALUES (?, ?, ?)", noise)
    pg_book.rows("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in ("work_phone", "mobile"):
        digits = f"regexp_replace(CAST({column} AS text), '[^0-9]', '', 'g')"
        pg_book.rows(f"CREATE INDEX ON {{contacts}} USING gin (({digits}) gin_trgm_ops)")
    pg_book.rows("ANALYZE {contacts}")
    with connector(pg_book.settings, tmp_path) as sql:
        assert sql.contacts is not None
        statement = sql.contacts.number_search(include_picture=False)
        assert statement is not None
        params = sql.number_params(number_query("02079460958"))
        plan = pg_book.explain(statement.sql, params)
        assert "Bitmap Index Scan" in plan, plan
        sql.search(number_query("+44 20 7946 0958"))  # connects
        started = time.perf_counter()
        assert [c.name for c in sql.search(number_query("02079460958"))] == ["Dana Whitfield"]
        print(f"postgresql with a trigram index: {(time.perf_counter() - started) * 1000:.1f} ms")
        # Search after search on the same connection, not only the first few: a prepared statement's generic
        # plan (PostgreSQL's choice after five runs) could not use the index for `LIKE $1` and would scan.
        before = index_scans(pg_book)
        for _ in range(12):
            assert [c.name for c in sql.search(number_query("02079460958"))] == ["Dana Whitfield"]
        time.sleep(1.1)  # a busy backend sends its statistics at most once a second: the next search sends them
        assert [c.name for c in sql.search(number_query("02079460958"))] == ["Dana Whitfield"]
        deadline = time.monotonic() + 5
        while index_scans(pg_book) - before < 13 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert index_scans(pg_book) - before >= 13


def test_trigram_indexes_on_the_name_columns_serve_the_name_search(pg_book: PostgresBook, tmp_path: Path) -> None:
    # README: one pg_trgm index per name, company and email column, on the column as text.
    noise = [("P", f"Noise{n:05d}", f"+1 (212) 555-{n:04d}") for n in range(10_000)]
    pg_book.many("INSERT INTO {contacts} (first_name, last_name, work_phone) VALUES (?, ?, ?)", noise)
    pg_book.rows("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with connector(pg_book.settings, tmp_path) as sql:
        text_columns = sql.settings.columns.text_columns()
        for column in text_columns:
            pg_book.rows(f"CREATE INDEX ON {{contacts}} USING gin ((CAST({column} AS text)) gin_trgm_ops)")
        pg_book.rows("ANALYZE {contacts}")
        assert sql.contacts is not None
        statement = sql.contacts.name_search(2, include_picture=False)
        assert statement is not None
        plan = pg_book.explain(statement.sql, {"w0": "%dana%", "w1": "%whitfield%", "limit": 5})
        assert "Seq Scan" not in plan and "Bitmap Index Scan" in plan, plan
        assert len(text_columns) >= 3
        assert [c.name for c in sql.search(SearchQuery("dana whitfield", limit=5))] == ["Dana Whitfield"]


def index_scans(pg_book: PostgresBook) -> int:
    """How often PostgreSQL has used the index on the work phone's digits (its statistics; one scan per search)."""
    found = pg_book.rows(
        "SELECT s.idx_scan FROM pg_stat_user_indexes s JOIN pg_indexes i "
        "ON i.schemaname = s.schemaname AND i.indexname = s.indexrelname "
        "WHERE s.schemaname = ? AND s.relname = 'contacts' AND strpos(i.indexdef, 'work_phone') > 0",
        [pg_book.schema],
    )
    return int(found[0][0])


async def test_concurrent_searches_share_the_pool(
    api: ApiSession, partnercrmd_app: web.Application, book: Book
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **book.settings)
    answers = await asyncio.gather(*(search(api, text) for text in [*FORMATS, "northwind"] * 4))
    assert {tuple(names(answer[book_id])) for answer in answers} == {
        ("Dana Whitfield",),
        ("Eamon O'Neill", "Dana Whitfield"),
    }


async def test_a_missing_sqlite_file_is_reported_until_it_appears(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path
) -> None:
    path = tmp_path / "later.db"
    backend = SqliteBackend(tmp_path)
    book_id = await configure_book(partnercrmd_app, "sql", **{**backend.new_book().settings, "path": str(path)})
    failed = (await search(api, "dana"))[book_id]
    assert failed["ExceptionText"] == f"The SQLite file {path} does not exist; check the setting 'path'."
    made = backend.new_book()
    try:
        Path(made.settings["path"]).rename(path)
        assert names((await search(api, "dana"))[book_id]) == ["Dana Whitfield"]
    finally:
        made.close()


# --- database servers: login, permissions, a server that stops ---------------------------------------


async def test_a_wrong_password_is_said_plainly_without_the_password(
    api: ApiSession, partnercrmd_app: web.Application, server_book: PostgresBook | MariaDbBook, tmp_path: Path
) -> None:
    wrong = "not-the-password-42"
    settings = {**server_book.settings, "password": wrong}
    book_id = await configure_book(partnercrmd_app, "sql", **settings)
    text = (await search(api, "+44 20 7946 0958"))[book_id]["ExceptionText"]
    assert text.startswith(f"{server_book.product} at 127.0.0.1:") and "refused the login of user crm_app" in text
    assert "Check the user in the setting 'dsn' and the setting 'password'." in text
    assert wrong not in text and APP_PASSWORD not in text
    with connector(settings, tmp_path) as sql:
        results = sql.test()
    assert [(r.check, r.ok, r.error_key) for r in results] == [
        ("reach", True, None),
        ("authenticate", False, "invalid_auth"),
    ]


def test_a_login_that_may_only_read_fails_the_write_checks(
    server_book: PostgresBook | MariaDbBook, tmp_path: Path
) -> None:
    settings = {**server_book.settings, "dsn": server_book.reader_dsn}
    with connector(settings, tmp_path) as sql:
        checks = {r.check: r for r in sql.test()}
    assert checks["search"].ok and checks["table"].ok
    denied = {"PostgreSQL": "permission denied", "MariaDB": "INSERT command denied to user 'crm_reader'"}
    for check in ("log_activity", "create_contact"):
        assert (checks[check].ok, checks[check].error_key) == (False, "invalid_auth")
        message = checks[check].message
        assert message.startswith("The database user may not do what") and "ask for the permission" in message
        assert denied[server_book.product] in message


async def test_a_server_stopped_mid_test_is_reported_within_the_deadline(
    api: ApiSession, partnercrmd_app: web.Application, server_book: PostgresBook | MariaDbBook
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **server_book.settings)
    [dana] = (await search(api, "+44 20 7946 0958"))[book_id]["Records"]  # leaves a connection in the pool
    server = server_book.server
    server.stop()
    refused = (
        f"Cannot reach {server_book.product} at 127.0.0.1:{server.port} (database {server_book.database}) "
        "(connection refused): is the server running and listening there?"
    )
    try:
        started = time.monotonic()
        text = (await search(api, "+44 20 7946 0958", timeoutMs=1500))[book_id]["ExceptionText"]
        assert time.monotonic() - started < 3
        assert text == refused
        started = time.monotonic()
        response = await api.request("POST", "DoAction", actionId=action(dana, "LogActivity"), Direction="Inbound")
        assert time.monotonic() - started < 3
        message = (await response.json())["Message"]
        assert response.status == 502 and refused in message and "queued" in message  # logged once it is back
    finally:
        server.start()
    assert names((await search(api, "+44 20 7946 0958"))[book_id]) == ["Dana Whitfield"]  # and it recovers


def test_png_bytes_in_the_table_are_the_picture(server_book: PostgresBook | MariaDbBook, tmp_path: Path) -> None:
    with connector(server_book.settings, tmp_path) as sql:
        [dana] = sql.search(SearchQuery("whitfield", limit=5, include_pictures=True))
    assert dana.picture is not None and dana.picture.data == PNG_PIXEL


def test_diagnostics_name_the_server_and_its_version(server_book: PostgresBook | MariaDbBook, tmp_path: Path) -> None:
    with connector(server_book.settings, tmp_path) as sql:
        found = sql.diagnostics()
    assert found["driver"] == server_book.settings["driver"]
    assert found["database"].startswith(f"{server_book.product} at 127.0.0.1:")
    version = found["server_version"]
    assert version and (version.startswith("15") if server_book.product == "PostgreSQL" else "MariaDB" in version)
    assert "server_error" not in found and server_book.settings["password"] not in str(found)


def test_books_test_command_checks_a_server_book(
    partnercrmd_home: Paths, server_book: PostgresBook | MariaDbBook, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = [arg for key, value in server_book.settings.items() for arg in ("--set", f"{key}={value}")]
    assert run_cli(["books", "add", "sql", "--name", "CRM", *sets]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "CRM"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   reach",
        "ok   authenticate",
        "ok   table",
        "ok   search",
        "ok   log_activity",
        "ok   create_contact",
    ]
    assert lines[1] == "ok   authenticate: Signed in as crm_app."
    # --no-check: saved without the quick connection, which this password would fail (Test is what is tested).
    assert run_cli(["books", "set", "CRM", "--no-check", "--set", "password=wrong-password"]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "CRM"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith(f"FAIL authenticate: {server_book.product} at 127.0.0.1:")
    assert out.rstrip().endswith("[invalid_auth]") and "wrong-password" not in out


# --- MariaDB: the indexed reversed-digits columns the README recommends ------------------------------

REVERSED_DIGITS_DDL = (
    "ALTER TABLE {contacts} "
    "ADD COLUMN work_phone_rdigits VARCHAR(50) "
    "GENERATED ALWAYS AS (REVERSE(REGEXP_REPLACE(work_phone, '[^0-9]', ''))) STORED, "
    "ADD COLUMN mobile_rdigits VARCHAR(50) GENERATED ALWAYS AS (REVERSE(REGEXP_REPLACE(mobile, '[^0-9]', ''))) STORED, "
    "ADD INDEX contacts_work_phone_rdigits (work_phone_rdigits), ADD INDEX contacts_mobile_rdigits (mobile_rdigits)"
)


@pytest.fixture
def indexed_mariadb_book(mariadb: MariaDbServer) -> Iterator[MariaDbBook]:
    """Dana and the others among 10,000 contacts, with the README's generated, indexed reversed-digits columns."""
    opened = MariaDbBook(mariadb)
    try:
        noise = [("P", str(n), f"+1 (212) 555-{n:04d}", f"07700 8{n:05d}") for n in range(10_000)]
        opened.many("INSERT INTO {contacts} (first_name, last_name, work_phone, mobile) VALUES (?, ?, ?, ?)", noise)
        opened.rows(REVERSED_DIGITS_DDL)
        opened.rows("ANALYZE TABLE {contacts}")
        yield opened
    finally:
        opened.close()


def test_reversed_digits_columns_serve_the_mapped_number_search(
    indexed_mariadb_book: MariaDbBook, tmp_path: Path
) -> None:
    settings = {
        **indexed_mariadb_book.settings,
        "reversed_digits_columns": "work_phone:work_phone_rdigits, mobile:mobile_rdigits",
    }
    with connector(settings, tmp_path) as sql:
        assert sql.contacts is not None
        statement = sql.contacts.number_search(include_picture=False)
        assert statement is not None and "LIKE :reversed_pattern" in statement.sql
        plan = indexed_mariadb_book.explain(statement.sql, sql.number_params(number_query("02079460958")))
        assert [row["type"] for row in plan] == ["index_merge"], plan  # both indexes, no scan of the table
        assert {"contacts_work_phone_rdigits", "contacts_mobile_rdigits"} == set(str(plan[0]["key"]).split(","))
        for text in FORMATS:
            assert [c.name for c in sql.search(number_query(text))] == ["Dana Whitfield"], text
        assert [c.name for c in sql.search(number_query("+44 7700 900461"))] == ["Eamon O'Neill"]  # a mobile
        assert [c.name for c in sql.search(number_query("+33 1 42 68 53 00"))] == ["Zoë Lefèvre"]
        assert [c.name for c in sql.search(number_query("+1 212 555 0042"))] == ["P 42"]
    with connector(indexed_mariadb_book.settings, tmp_path) as sql:  # without the setting: the digits of each row
        assert sql.contacts is not None
        statement = sql.contacts.number_search(include_picture=False)
        assert statement is not None
        plan = indexed_mariadb_book.explain(statement.sql, sql.number_params(number_query("02079460958")))
        assert [row["type"] for row in plan] == ["ALL"], plan


def test_an_own_number_query_uses_the_reversed_digits_index(indexed_mariadb_book: MariaDbBook, tmp_path: Path) -> None:
    own = (
        "SELECT id, first_name, last_name, work_phone FROM contacts "
        "WHERE work_phone_rdigits LIKE :reversed_pattern LIMIT :limit"
    )
    settings = {key: indexed_mariadb_book.settings[key] for key in ("driver", "dsn", "password")} | {
        "search_number_query": own,
        "phone_columns": "work_phone",
        "first_name_column": "first_name",
    }
    settings |= {"last_name_column": "last_name", "id_column": "id"}
    with connector(settings, tmp_path) as sql:
        plan = indexed_mariadb_book.explain(own, sql.number_params(number_query("02079460958")))
        assert [(row["type"], row["key"]) for row in plan] == [("range", "contacts_work_phone_rdigits")], plan
        for text in FORMATS:
            assert [c.name for c in sql.search(number_query(text))] == ["Dana Whitfield"], text


def test_reversed_digits_columns_must_belong_to_phone_columns(
    indexed_mariadb_book: MariaDbBook, tmp_path: Path
) -> None:
    settings = {**indexed_mariadb_book.settings, "reversed_digits_columns": "fax:fax_rdigits"}
    with pytest.raises(ConfigError, match="names 'fax', which is not one of the 'phone_columns'"):
        SQL.open(BookContext("crm", "CRM", settings, tmp_path, "GB"))


# --- MariaDB: TLS ---------------------------------------------------------------------------------------

TLS_CIPHER = Statement("SHOW SESSION STATUS LIKE 'Ssl_cipher'", "the test")


def test_tls_with_the_servers_ca_is_verified_and_used(mariadb: MariaDbServer, tmp_path: Path) -> None:
    book = MariaDbBook(mariadb)
    try:
        dsn = f"{book.settings['dsn']} ssl_ca={mariadb.tls['ca']}"  # a CA given: verify_identity
        with connector({**book.settings, "dsn": dsn}, tmp_path) as sql:
            [(_, cipher)] = [tuple(row.values()) for row in sql.fetch(TLS_CIPHER, {}, 1)]
            assert cipher  # the session is encrypted
            assert [c.name for c in sql.search(number_query("02079460958"))] == ["Dana Whitfield"]
        plain = f"{book.settings['dsn']} ssl_mode=disabled"
        with connector({**book.settings, "dsn": plain}, tmp_path) as sql:
            assert [tuple(row.values()) for row in sql.fetch(TLS_CIPHER, {}, 1)] == [("Ssl_cipher", "")]
    finally:
        book.close()


def test_tls_with_another_ca_fails_with_what_to_check(mariadb: MariaDbServer, tmp_path: Path) -> None:
    book = MariaDbBook(mariadb)
    try:
        other = tmp_path / "other"
        other.mkdir()
        stranger = make_certificates(other)["ca"]
        dsn = f"{book.settings['dsn']} ssl_mode=verify_identity ssl_ca={stranger}"
        with connector({**book.settings, "dsn": dsn}, tmp_path) as sql:
            results = sql.test()
        [reach] = results
        assert (reach.check, reach.ok, reach.error_key) == ("reach", False, "cannot_connect")
        assert reach.message.startswith(f"The TLS connection to MariaDB at 127.0.0.1:{mariadb.port}")
        assert "check ssl_mode and ssl_ca in the setting 'dsn'" in reach.message
        assert "CERTIFICATE_VERIFY_FAILED" in reach.message
    finally:
        book.close()


@pytest.mark.parametrize(
    ("dsn", "reason"),
    [
        ("host=db port=3306 database=crm user=app password=x", "The setting 'dsn' contains a password"),
        ("mariadb://app:secret@db/crm", "The setting 'dsn' contains a password"),
        ("host=db sslmode=require", "The setting 'dsn' has the unknown key 'sslmode'"),
        ("host=db ssl_mode=verify_ca", "The setting 'dsn' asks for ssl_mode=verify_ca: give ssl_ca"),
        ("postgresql://app@db/crm", "The setting 'dsn' must start with mariadb:// or mysql://"),
        ("host=db port=33o6", "The setting 'dsn' has the port '33o6'"),
    ],
)
def test_a_mariadb_connection_setting_it_cannot_use_is_refused(dsn: str, reason: str, tmp_path: Path) -> None:
    settings = {"driver": "mariadb", "dsn": dsn, "table": "contacts", "id_column": "id", "phone_columns": "phone"}
    with pytest.raises(ConfigError) as refused:
        SQL.open(BookContext("crm", "CRM", settings, tmp_path, "GB"))
    assert refused.value.message.startswith(reason) and "secret" not in refused.value.message
