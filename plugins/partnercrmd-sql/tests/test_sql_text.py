"""SQL text handling without a database: names from settings, `:name` parameters, phone column kinds."""

from __future__ import annotations

import pytest
from partnercrmd_sql.postgres_driver import parse_dsn
from partnercrmd_sql.settings import parse_phone_columns, parse_settings
from partnercrmd_sql.sqltext import Statement, TableName, check_identifier, like_escape, quote_brackets, to_pyformat

from partnercrmd.sdk import ConfigError, PhoneKind


@pytest.mark.parametrize("name", ["contacts", "Contacts", "_x1", "a" * 63])
def test_plain_names_are_accepted(name: str) -> None:
    assert check_identifier(name, "table") == name


@pytest.mark.parametrize("name", ["", "1st", "first name", 'x"y', "x;DROP TABLE y", "a" * 64, "naïve", "x]"])
def test_anything_else_is_refused_with_the_setting_named(name: str) -> None:
    with pytest.raises(ConfigError, match="The setting 'first_name_column' must be a plain table or column name"):
        check_identifier(name, "first_name_column")


def test_names_are_always_quoted() -> None:
    assert TableName.parse("crm.Contacts", "table").sql() == '"crm"."Contacts"'
    assert TableName.parse("contacts", "table").sql(quote_brackets) == "[contacts]"
    with pytest.raises(ConfigError):
        TableName.parse("a.b.c", "table")


@pytest.mark.parametrize(
    ("sql", "converted"),
    [
        ("SELECT * FROM t WHERE id = :id", "SELECT * FROM t WHERE id = %(id)s"),
        ("SELECT x::text FROM t WHERE a LIKE :pattern", "SELECT x::text FROM t WHERE a LIKE %(pattern)s"),
        ("SELECT ':id', \"a:b\" FROM t -- :id\nWHERE b = :id", "SELECT ':id', \"a:b\" FROM t -- :id\nWHERE b = %(id)s"),
        ("SELECT '50%' /* :x */, 'it''s :y' || :z", "SELECT '50%%' /* :x */, 'it''s :y' || %(z)s"),
        ("SELECT arr[1:2], CAST(:n AS int)", "SELECT arr[1:2], CAST(%(n)s AS int)"),
    ],
)
def test_named_parameters_become_psycopg_placeholders_outside_literals(sql: str, converted: str) -> None:
    assert to_pyformat(sql) == converted


def test_the_parameters_of_a_statement() -> None:
    statement = Statement("SELECT * FROM t WHERE a = :tail OR b LIKE ':no' OR c = :limit::int", "a test")
    assert statement.parameters == {"tail", "limit"}


def test_like_patterns_escape_what_the_user_typed() -> None:
    assert like_escape("50%_off\\") == "50\\%\\_off\\\\"


def test_phone_columns_with_and_without_kinds() -> None:
    columns = parse_phone_columns("work_phone, mobile_no, fax, direct:home, ")
    assert [(c.name, c.kind) for c in columns] == [
        ("work_phone", PhoneKind.BUSINESS),
        ("mobile_no", PhoneKind.MOBILE),
        ("fax", PhoneKind.FAX),
        ("direct", PhoneKind.HOME),
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"driver": "sqlite", "table": "contacts"}, "The setting 'path' is empty"),
        ({"driver": "sqlite", "path": "crm.db", "table": "contacts"}, "must be a full path"),
        ({"driver": "postgresql", "table": "contacts"}, "The setting 'dsn' is empty"),
        ({"driver": "sqlite", "path": "/srv/crm.db"}, "Give the setting 'table'"),
        (
            {"driver": "sqlite", "path": "/srv/crm.db", "table": "c", "id_column": ""},
            "The setting 'id_column' is empty",
        ),
        (
            {"driver": "sqlite", "path": "/srv/crm.db", "table": "c", "activity_table": "calls"},
            "The setting 'activity_contact_column' is empty",
        ),
        (
            {"driver": "sqlite", "path": "/srv/crm.db", "table": "c", "edit_url_template": "ftp://x/{id}"},
            "The setting 'edit_url_template' must be an http:// or https:// address.",
        ),
    ],
)
def test_settings_the_schema_cannot_check(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings({"id_column": "id", **settings})


def test_a_password_in_the_connection_string_is_refused() -> None:
    with pytest.raises(ConfigError, match="contains a password; remove it") as raised:
        parse_dsn("postgresql://crm:hunter2secret@db.example/crm")
    assert "hunter2secret" not in raised.value.message
    assert parse_dsn("host=db.example dbname=crm user=crm") == {"host": "db.example", "dbname": "crm", "user": "crm"}
