"""The integration's settings: their schema, and the checked form the connector works with.

A book is either *mapped* (a table and which columns hold what: partnercrmd writes the
SQL) or *queried* (the user's own SQL with `:name` parameters), or both: a query given
for an operation wins over the table mapping for that operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind, PhoneKind

from .mapping import PHONE_KINDS, ActivityColumns, ColumnMap, PhoneColumn, guess_kind
from .presets import NO_PRESET, PRESET_CHOICES, PRESETS
from .sqltext import Statement, TableName, check_identifier, check_parameters

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
MARIADB = "mariadb"
MYSQL = "mysql"
SERVER_DRIVERS = {POSTGRESQL: "PostgreSQL", MARIADB: "MariaDB", MYSQL: "MySQL"}
"""The drivers that reach a server through the setting 'dsn', with their names for messages."""
DRIVERS = (SQLITE, POSTGRESQL, MARIADB, MYSQL)
NEW_ID_DATABASE = "database"
NEW_ID_UUID = "uuid"
ID_PLACEHOLDER = "{id}"
DEFAULT_CONNECT_TIMEOUT = 3

QUERY_PARAMETERS: Mapping[str, frozenset[str]] = {
    "search_number_query": frozenset({"number", "digits", "national", "tail", "pattern", "reversed_pattern", "limit"}),
    "search_name_query": frozenset({"text", "pattern", "limit"}),
    "get_query": frozenset({"id"}),
    "insert_contact_query": frozenset(
        {"id", "first_name", "last_name", "display_name", "company", "email", "phone", "notes"}
    ),
    "insert_activity_query": frozenset({"contact_id", "subject", "body", "direction", "start_utc", "duration_seconds"}),
}
"""The parameters partnercrmd binds for each query setting."""

_COLUMN_SETTINGS = (
    "first_name_column",
    "last_name_column",
    "display_name_column",
    "company_column",
    "email_column",
    "notes_column",
    "picture_column",
)
_ACTIVITY_SETTINGS = (
    "activity_id_column",
    "activity_subject_column",
    "activity_body_column",
    "activity_direction_column",
    "activity_start_column",
    "activity_duration_column",
)


def _column(key: str, label: str, help_text: str, default: str | None = None) -> ConfigField:
    return ConfigField(key, label, FieldKind.TEXT, default=default, help=help_text)


def _query(key: str, label: str, help_text: str) -> ConfigField:
    names = ", ".join(f":{n}" for n in sorted(QUERY_PARAMETERS[key]))
    return ConfigField(key, label, FieldKind.TEXT, help=f"{help_text} Parameters: {names}.")


CONFIG: tuple[ConfigField, ...] = (
    ConfigField(
        "driver",
        "Database",
        FieldKind.CHOICE,
        default=SQLITE,
        choices=DRIVERS,
        help="sqlite: a database file on this computer; postgresql: a PostgreSQL server; mariadb or mysql: a MariaDB "
        "or MySQL server.",
    ),
    ConfigField(
        "preset",
        "CRM preset",
        FieldKind.CHOICE,
        default=NO_PRESET,
        choices=PRESET_CHOICES,
        help="suitecrm or vtiger: that CRM's contact tables on its MariaDB/MySQL database, searched, popped and "
        "(SuiteCRM) logged to as the CRM itself keeps them; none: your own table or queries below. "
        "A setting you change wins over the preset's.",
    ),
    ConfigField(
        "crm_url",
        "CRM address",
        FieldKind.URL,
        help="With a preset: your SuiteCRM's or vtiger's address, e.g. https://crm.example (contacts open there).",
    ),
    ConfigField("path", "SQLite file", FieldKind.PATH, help="Full path of the SQLite database file (sqlite only)."),
    ConfigField(
        "dsn",
        "Server connection",
        FieldKind.TEXT,
        help="Connection string without the password. PostgreSQL: 'host=db.example port=5432 dbname=crm "
        "user=partnercrmd' or postgresql://partnercrmd@db.example/crm. MariaDB/MySQL: 'host=db.example port=3306 "
        "database=crm user=partnercrmd' (TLS: ssl_mode, ssl_ca, ssl_cert, ssl_key) or "
        "mariadb://partnercrmd@db.example/crm.",
    ),
    ConfigField("password", "Password", FieldKind.SECRET, help="The database server user's password (kept encrypted)."),
    ConfigField(
        "connect_timeout",
        "Connect timeout (s)",
        FieldKind.INT,
        default=DEFAULT_CONNECT_TIMEOUT,
        help="How long to wait for the server (PostgreSQL: at least 2 s) or a locked SQLite file.",
    ),
    _column("table", "Contacts table", "The table holding contacts, optionally with its schema (crm.contacts)."),
    _column("id_column", "Id column", "The column with each contact's unique id.", "id"),
    _column("first_name_column", "First name column", "Leave empty if the table has none."),
    _column("last_name_column", "Last name column", "Leave empty if the table has none."),
    _column("display_name_column", "Full name column", "A column with the whole name; leave empty if none."),
    _column("company_column", "Company column", "Leave empty if the table has none."),
    _column("email_column", "Email column", "Leave empty if the table has none."),
    _column(
        "phone_columns",
        "Phone columns",
        "Comma-separated phone columns, each optionally with its kind: 'phone, mobile:mobile, fax:fax' "
        f"(kinds: {', '.join(PHONE_KINDS)}). New contacts' numbers go into the first.",
    ),
    _column(
        "reversed_digits_columns",
        "Indexed reversed-digits columns",
        "Optional, for large tables: each phone column with a generated, indexed column holding its digits reversed "
        "(README), e.g. 'phone:phone_rdigits, mobile:mobile_rdigits'. Number searches then use the index.",
    ),
    _column("notes_column", "Notes column", "Leave empty if the table has none."),
    _column("picture_column", "Picture column", "A BLOB/bytea column with a PNG, JPEG or GIF photo; may be empty."),
    ConfigField(
        "new_id",
        "New contact ids",
        FieldKind.CHOICE,
        default=NEW_ID_DATABASE,
        choices=(NEW_ID_DATABASE, NEW_ID_UUID),
        help="database: the database numbers new contacts (serial, identity, INTEGER PRIMARY KEY); "
        "uuid: partnercrmd gives each a random UUID.",
    ),
    _column("activity_table", "Call log table", "The table calls are logged into; empty: calls are not logged."),
    _column("activity_contact_column", "Call log: contact column", "Holds the contact's id.", "contact_id"),
    _column("activity_id_column", "Call log: id column", "The log entry's own id column; may be empty."),
    _column("activity_subject_column", "Call log: subject column", "E.g. 'Incoming call: …'; may be empty."),
    _column("activity_body_column", "Call log: details column", "Direction, numbers, time, notes; may be empty."),
    _column("activity_direction_column", "Call log: direction column", "'Inbound' or 'Outbound'; may be empty."),
    _column("activity_start_column", "Call log: start column", "A timestamp (or text) column; may be empty."),
    _column("activity_duration_column", "Call log: duration column", "Whole seconds; may be empty."),
    ConfigField(
        "url_template",
        "Record address",
        FieldKind.URL,
        help="Where a contact opens in your application, with {id}, e.g. https://crm.example/contacts/{id}. "
        "Empty: partnercrmd's own record page.",
    ),
    ConfigField(
        "edit_url_template",
        "Record edit address",
        FieldKind.URL,
        help="Where a contact opens for editing, with {id}. Empty: the record address, else partnercrmd's own "
        "edit form.",
    ),
    _query(
        "search_number_query",
        "Number search query",
        "Your own SELECT for number searches (instead of the table's phone columns); its result columns are read "
        "with the column settings. :tail is the last 7 digits, :pattern is '%<tail>%' for LIKE on digits.",
    ),
    _query(
        "search_name_query",
        "Name search query",
        "Your own SELECT for name searches. :pattern is '%<text>%' for LIKE … ESCAPE '\\'.",
    ),
    _query("get_query", "Read query", "Your own SELECT of one contact by its :id (for partnercrmd's record page)."),
    _query(
        "insert_contact_query",
        "Create contact statement",
        "Your own INSERT for new contacts; end it with RETURNING <id column> so partnercrmd learns the new id.",
    ),
    _query(
        "insert_activity_query",
        "Log call statement",
        "Your own INSERT for logged calls; may end with RETURNING <id column>.",
    ),
)


_DEFAULTS: Mapping[str, object] = {spec.key: spec.default for spec in CONFIG}


@dataclass(frozen=True)
class SqlSettings:
    """A book's settings, checked."""

    driver: str
    path: Path | None
    dsn: str
    password: str
    connect_timeout: int
    table: TableName | None
    columns: ColumnMap
    new_id: str
    activity_table: TableName | None
    activity: ActivityColumns
    url_template: str
    edit_url_template: str
    queries: Mapping[str, Statement] = field(default_factory=dict)

    @property
    def logs_calls(self) -> bool:
        return self.activity_table is not None or "insert_activity_query" in self.queries

    @property
    def creates_contacts(self) -> bool:
        return self.table is not None or "insert_contact_query" in self.queries


def _text(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    return "" if value is None else str(value).strip()


def _identifier(settings: Mapping[str, Any], key: str) -> str:
    text = _text(settings, key)
    return check_identifier(text, key) if text else ""


def parse_phone_columns(text: str) -> tuple[PhoneColumn, ...]:
    """'phone, mobile:mobile' → the columns with their kinds (a kind guessed from the name when not given)."""
    columns: list[PhoneColumn] = []
    for item in text.split(","):
        name, colon, kind_text = item.strip().partition(":")
        if not name.strip():
            continue
        name = check_identifier(name.strip(), "phone_columns")
        kind: PhoneKind
        if colon:
            found = PHONE_KINDS.get(kind_text.strip().lower())
            if found is None:
                raise ConfigError(
                    f"The setting 'phone_columns' gives '{name}' the kind '{kind_text.strip()[:20]}'; "
                    f"use one of {', '.join(PHONE_KINDS)}."
                )
            kind = found
        else:
            kind = guess_kind(name)
        columns.append(PhoneColumn(name, kind))
    return tuple(columns)


def parse_reversed_digits(text: str, phones: tuple[PhoneColumn, ...]) -> tuple[tuple[str, str], ...]:
    """ "phone:phone_rdigits, …" → (phone column, its reversed-digits column) pairs; each phone one of `phones`."""
    pairs: dict[str, str] = {}
    known = {p.name for p in phones}
    for item in text.split(","):
        if not item.strip():
            continue
        phone, colon, generated = (part.strip() for part in item.partition(":"))
        if not colon or not generated:
            raise ConfigError(
                "The setting 'reversed_digits_columns' pairs each phone column with its generated column: "
                f"'phone:phone_rdigits', not {item.strip()[:80]!r}."
            )
        phone = check_identifier(phone, "reversed_digits_columns")
        if phone not in known:
            raise ConfigError(
                f"The setting 'reversed_digits_columns' names '{phone}', which is not one of the 'phone_columns'."
            )
        pairs[phone] = check_identifier(generated, "reversed_digits_columns")
    return tuple(pairs.items())


def check_url_template(template: str, key: str) -> str:
    if not template:
        return ""
    if urlsplit(template).scheme.lower() not in {"http", "https"}:
        raise ConfigError(f"The setting '{key}' must be an http:// or https:// address.")
    if ID_PLACEHOLDER not in template:
        raise ConfigError(
            f"The setting '{key}' must contain {{id}} where the contact's id goes, e.g. https://crm.example/contacts/{{id}}."
        )
    return template


def _queries(settings: Mapping[str, Any]) -> dict[str, Statement]:
    queries: dict[str, Statement] = {}
    for key, allowed in QUERY_PARAMETERS.items():
        sql = _text(settings, key).rstrip(";").strip()
        if sql:
            statement = Statement(sql, f"the query in the setting '{key}'")
            check_parameters(statement, allowed)
            queries[key] = statement
    return queries


def _columns(settings: Mapping[str, Any]) -> ColumnMap:
    names = {key: _identifier(settings, key) for key in _COLUMN_SETTINGS}
    phones = parse_phone_columns(_text(settings, "phone_columns"))
    id_column = _identifier(settings, "id_column")
    if not id_column:
        raise ConfigError("The setting 'id_column' is empty: name the column with each contact's unique id.")
    return ColumnMap(
        id=id_column,
        first_name=names["first_name_column"],
        last_name=names["last_name_column"],
        display_name=names["display_name_column"],
        company=names["company_column"],
        email=names["email_column"],
        notes=names["notes_column"],
        picture=names["picture_column"],
        phones=phones,
        reversed_digits=parse_reversed_digits(_text(settings, "reversed_digits_columns"), phones),
    )


def _activity(settings: Mapping[str, Any]) -> ActivityColumns:
    names = {key: _identifier(settings, key) for key in _ACTIVITY_SETTINGS}
    contact = _identifier(settings, "activity_contact_column")
    return ActivityColumns(
        contact=contact,
        id=names["activity_id_column"],
        subject=names["activity_subject_column"],
        body=names["activity_body_column"],
        direction=names["activity_direction_column"],
        start=names["activity_start_column"],
        duration=names["activity_duration_column"],
    )


def _connection(settings: Mapping[str, Any], driver: str) -> tuple[Path | None, str]:
    if driver == SQLITE:
        given = _text(settings, "path")
        if not given:
            raise ConfigError("The setting 'path' is empty: give the full path of the SQLite database file.")
        path = Path(given).expanduser()
        if not path.is_absolute():
            raise ConfigError(f"The setting 'path' must be a full path (such as /srv/crm.db), not {given[:200]!r}.")
        return path, ""
    dsn = _text(settings, "dsn")
    if not dsn:
        example = "dbname" if driver == POSTGRESQL else "database"
        raise ConfigError(
            f"The setting 'dsn' is empty: give the {SERVER_DRIVERS[driver]} connection, "
            f"e.g. 'host=… {example}=… user=…'."
        )
    return None, dsn


def apply_preset(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """The settings with the chosen preset's filled in where the user left a setting empty or at its default."""
    name = _text(settings, "preset") or NO_PRESET
    if name == NO_PRESET:
        return settings
    preset = PRESETS.get(name)
    if preset is None:
        raise ConfigError(f"The setting 'preset' must be one of {', '.join(PRESET_CHOICES)}, not {name[:40]!r}.")
    driver = _text(settings, "driver") or SQLITE
    if driver not in (MARIADB, MYSQL):
        raise ConfigError(
            f"The preset {name} reads {preset.title.split(' (')[0]}'s MariaDB or MySQL database: set 'driver' to "
            f"{MARIADB} or {MYSQL}."
        )
    merged = dict(settings)
    for key, value in preset.settings.items():
        if _text(settings, key) in ("", str(_DEFAULTS.get(key) or "")):
            merged[key] = value
    crm_url = _text(settings, "crm_url").rstrip("/")
    if crm_url:
        if urlsplit(crm_url).scheme.lower() not in {"http", "https"}:
            raise ConfigError("The setting 'crm_url' must be an http:// or https:// address, e.g. https://crm.example.")
        if not _text(settings, "url_template"):
            merged["url_template"] = crm_url + preset.record_path
        if not _text(settings, "edit_url_template"):
            merged["edit_url_template"] = crm_url + preset.edit_path
    return merged


def parse_settings(settings: Mapping[str, Any]) -> SqlSettings:
    """The settings, checked; ConfigError with what to change for anything the schema cannot check."""
    settings = apply_preset(settings)
    driver = _text(settings, "driver") or SQLITE
    if driver not in DRIVERS:
        raise ConfigError(f"The setting 'driver' must be one of {', '.join(DRIVERS)}, not {driver[:40]!r}.")
    path, dsn = _connection(settings, driver)
    table_text = _text(settings, "table")
    table = TableName.parse(table_text, "table") if table_text else None
    queries = _queries(settings)
    if table is None and not ({"search_number_query", "search_name_query"} & queries.keys()):
        raise ConfigError(
            "Give the setting 'table' (and which columns hold what), or your own 'search_number_query' "
            "and 'search_name_query'."
        )
    activity_text = _text(settings, "activity_table")
    activity_table = TableName.parse(activity_text, "activity_table") if activity_text else None
    activity = _activity(settings)
    if activity_table is not None and not activity.contact:
        raise ConfigError("The setting 'activity_contact_column' is empty: name the call log's contact id column.")
    timeout = settings.get("connect_timeout")
    return SqlSettings(
        driver=driver,
        path=path,
        dsn=dsn,
        password=str(settings.get("password") or ""),  # as typed: spaces may belong to a password
        connect_timeout=timeout if isinstance(timeout, int) and timeout > 0 else DEFAULT_CONNECT_TIMEOUT,
        table=table,
        columns=_columns(settings),
        new_id=_text(settings, "new_id") or NEW_ID_DATABASE,
        activity_table=activity_table,
        activity=activity,
        url_template=check_url_template(_text(settings, "url_template"), "url_template"),
        edit_url_template=check_url_template(_text(settings, "edit_url_template"), "edit_url_template"),
        queries=queries,
    )
