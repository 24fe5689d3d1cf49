"""partnercrmd add-in: caller preview, popping, call logging and new contacts from an SQL database.

SQLite files, PostgreSQL, MariaDB and MySQL servers. The user either maps a table and its columns
(partnercrmd writes the SQL) or gives their own queries with `:name` parameters. See README.md.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from partnercrmd.sdk import BookContext, Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .client import Driver
from .connector import SqlBook
from .settings import CONFIG, MARIADB, MYSQL, POSTGRESQL, SERVER_DRIVERS, SqlSettings, parse_settings
from .sqlite_driver import RETURNING_SINCE, SqliteDriver, sqlite_version

__all__ = ["INTEGRATION_ID", "SQL", "SqlBook", "__version__", "open_book", "partnercrmd_integrations"]
__version__ = "0.1.0"

INTEGRATION_ID = "sql"


def make_driver(settings: SqlSettings) -> Driver:
    """The driver the settings ask for (psycopg and PyMySQL are imported only for books that use them)."""
    if settings.driver == POSTGRESQL:
        from .postgres_driver import PostgresDriver

        return PostgresDriver(settings.dsn, settings.password, settings.connect_timeout)
    if settings.driver in (MARIADB, MYSQL):
        from .mariadb_driver import MariaDbDriver

        name = SERVER_DRIVERS[settings.driver]
        return MariaDbDriver(settings.dsn, settings.password, settings.connect_timeout, name)
    assert settings.path is not None
    return SqliteDriver(settings.path, float(settings.connect_timeout))


def open_book(context: BookContext) -> SqlBook:
    """Check the settings; no connection is made here (the first search connects, so a server down now is retried)."""
    settings = parse_settings(context.settings)
    driver = make_driver(settings)
    # MySQL has no INSERT … RETURNING (MariaDB has, since 10.5): its mapped inserts learn the id from AUTO_INCREMENT
    if settings.driver in (MARIADB, MYSQL):
        returning = False
    else:
        returning = settings.driver == POSTGRESQL or sqlite_version() >= RETURNING_SINCE
    return SqlBook(settings, driver, context.default_region, returning)


SQL = Integration(
    id=INTEGRATION_ID,
    name="SQL database (SQLite, PostgreSQL, MariaDB, MySQL)",
    version=__version__,
    open=open_book,
    capabilities=frozenset(Capability) - {Capability.CALL_EVENTS},  # all of them; a book narrows them by its settings
    description="Contacts in your own SQLite, PostgreSQL, MariaDB or MySQL table, or found by your own SQL queries.",
    config=CONFIG,
    check_settings=functools.partial(check_settings, make_driver=make_driver),
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-sql/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-11-25",
            "First release: SQLite and PostgreSQL; search by number in any stored format and by name, open records "
            "at your own address, log calls, create and change contacts, mapped tables or your own queries.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `sql`."""
    return [SQL]
