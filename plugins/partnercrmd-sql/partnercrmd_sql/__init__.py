"""partnercrmd add-in: caller preview, popping, call logging and new contacts from an SQL database.

SQLite files, PostgreSQL, MariaDB and MySQL servers. The user either maps a table and its columns
(partnercrmd writes the SQL) or gives their own queries with `:name` parameters. See README.md.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from partnercrmd.sdk import BookContext, Capability, ConfigField, Integration, ReleaseNote, SettingsCheck, hookimpl

from .checks import check_settings
from .client import Driver
from .connector import SqlBook
from .presets import PRESETS, SUITECRM, VTIGER, Preset
from .settings import CONFIG, MARIADB, MYSQL, POSTGRESQL, SERVER_DRIVERS, SqlSettings, parse_settings
from .sqlite_driver import RETURNING_SINCE, SqliteDriver, sqlite_version

__all__ = [
    "INTEGRATION_ID",
    "SQL",
    "SUITECRM_ENTRY",
    "VTIGER_ENTRY",
    "SqlBook",
    "__version__",
    "open_book",
    "partnercrmd_integrations",
]
__version__ = "0.2.0"

INTEGRATION_ID = "sql"
GUIDE_URL = "https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-sql/README.md"


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


RELEASE_NOTES = (
    ReleaseNote(
        __version__,
        "2026-12-07",
        "MariaDB and MySQL (driver mariadb or mysql), with TLS; presets for SuiteCRM's and vtiger's contact "
        "tables; indexed reversed-digits columns for number searches in large tables.",
    ),
    ReleaseNote(
        "0.1.0",
        "2026-11-25",
        "First release: SQLite and PostgreSQL; search by number in any stored format and by name, open records "
        "at your own address, log calls, create and change contacts, mapped tables or your own queries.",
    ),
)

SQL = Integration(
    id=INTEGRATION_ID,
    name="SQL database (SQLite, PostgreSQL, MariaDB, MySQL)",
    version=__version__,
    open=open_book,
    capabilities=frozenset(Capability) - {Capability.CALL_EVENTS},  # all of them; a book narrows them by its settings
    description="Contacts in your own SQLite, PostgreSQL, MariaDB or MySQL table, or found by your own SQL queries.",
    config=CONFIG,
    check_settings=functools.partial(check_settings, make_driver=make_driver),
    guide_url=GUIDE_URL,
    release_notes=RELEASE_NOTES,
)


def with_preset(settings: Mapping[str, Any], preset: str) -> dict[str, Any]:
    """A preset entry's book settings as the `sql` integration reads them: always that preset."""
    return {**settings, "preset": preset}


def preset_entry(
    preset: Preset, entry_id: str, name: str, capabilities: frozenset[Capability], about: str
) -> Integration:
    """A catalogue entry of its own for a preset: the `sql` integration with the preset fixed, MariaDB or MySQL."""

    def open_preset_book(context: BookContext) -> SqlBook:
        return open_book(replace(context, settings=with_preset(context.settings, preset.name)))

    def check_preset_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
        return check_settings(with_preset(settings, preset.name), connect, make_driver=make_driver)

    def field(spec: ConfigField) -> ConfigField:
        if spec.key == "driver":
            return replace(
                spec, default=MARIADB, choices=(MARIADB, MYSQL), help="The CRM's database server: MariaDB or MySQL."
            )
        if spec.key == "dsn":
            return replace(
                spec,
                help=f"The {name} database, without the password: 'host=db.example port=3306 database=crm "
                "user=partnercrmd' (TLS: ssl_mode, ssl_ca, ssl_cert, ssl_key) or mariadb://partnercrmd@db.example/crm.",
            )
        return spec

    return Integration(
        id=entry_id,
        name=name,
        version=__version__,
        open=open_preset_book,
        capabilities=capabilities,
        description=about,
        config=tuple(field(spec) for spec in CONFIG if spec.key not in {"preset", "path"}),
        check_settings=check_preset_settings,
        guide_url=GUIDE_URL + "#presets-suitecrm-and-vtiger",
        release_notes=RELEASE_NOTES,
    )


_FINDS = frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP, Capability.POP_EDIT})
SUITECRM_ENTRY = preset_entry(
    PRESETS[SUITECRM],
    "suitecrm-database",
    "SuiteCRM (database)",
    _FINDS | {Capability.LOG_ACTIVITY, Capability.SHOW_ACTIVITIES, Capability.CREATE_CONTACT},
    "SuiteCRM 7/8 contacts read straight from its MariaDB or MySQL database (any stored number format, deleted "
    "contacts skipped); calls logged as held calls in the contact's history; new contacts. The sql add-in with its "
    "SuiteCRM preset.",
)
VTIGER_ENTRY = preset_entry(
    PRESETS[VTIGER],
    "vtiger-database",
    "vtiger CRM (database)",
    _FINDS,
    "vtiger CRM 7/8 contacts read straight from its MariaDB or MySQL database (phone, mobile, home, other and fax "
    "numbers in any format; deleted contacts skipped), opened in vtiger. The sql add-in with its vtiger preset.",
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides `sql` (any table or queries) and the SuiteCRM and vtiger presets as entries of their own."""
    return [SQL, SUITECRM_ENTRY, VTIGER_ENTRY]
