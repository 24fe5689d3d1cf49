"""The real servers of the integration add-ins, for tests and benchmarks that need them all at once.

Each add-in's own tests start its server with a helper module in the add-in's
tests folder (`carddav_servers`, `slapd_server`, `sql_test_support`,
`tryton_seed` / `tryton_testserver`, `bottlecrm_test_server`; for the servers of
issue #22 `sql_test_support`'s MariaDB, `samba_dc`, `rt_server`,
`groupware_servers` (DAViCal, SOGo), `thunderbird_app` and `eds_session`). This module
reuses those helpers rather than copying them: it puts each add-in's tests
folder on `sys.path` (appended, so nothing of the core is shadowed) and imports
the helper modules by their own names, the same module objects pytest uses
when it runs the add-ins' tests in the same session. Only the helper modules
are imported, never a `conftest.py` (the CardDAV add-in has one; two modules
named `conftest` would clash).

Every server listens on 127.0.0.1 on a free port, lives in a temporary folder
and is stopped by its PID (`Backend.stop`; `Backend.close` also releases
clients and folders). `start_all` starts several at once, in threads.

`seed=True` stores the test people each add-in's tests use: among them Dana
Whitfield, whose number +44 20 7946 0958 every server holds written its own way
(`STORED_AS`), next to decoys with the same last digits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PLUGINS = REPO / "plugins"

KINDS = ("carddav", "ldap", "sql", "tryton", "bottlecrm")
"""The integration ids of the five add-ins, each the name of its server kind here."""
MORE_KINDS = ("mariadb", "samba-ad", "rt", "davical", "sogo", "thunderbird", "evolution")
"""The real servers added since (issue #22), by server kind; `INTEGRATIONS` names the add-in of each."""
ALL_KINDS = (*KINDS, *MORE_KINDS)
INTEGRATIONS = {"mariadb": "sql", "samba-ad": "active-directory", "davical": "carddav", "sogo": "carddav"}
"""The integration id of a server kind whose add-in is named otherwise (the others: the kind itself)."""
SERVER_NAMES = {
    "carddav": "Radicale",
    "ldap": "OpenLDAP slapd",
    "sql": "PostgreSQL",
    "tryton": "Tryton",
    "bottlecrm": "BottleCRM",
    "mariadb": "MariaDB",
    "samba-ad": "Samba AD",
    "rt": "Request Tracker",
    "davical": "DAViCal",
    "sogo": "SOGo",
    "thunderbird": "Thunderbird",
    "evolution": "Evolution Data Server",
}

PERSON = "Dana Whitfield"
PERSON_NUMBER = "+44 20 7946 0958"
PERSON_SURNAME = "Whitfield"
STORED_AS = {
    "carddav": "(020) 7946-0958",  # a vCard TEL (carddav_seed.DANA)
    "ldap": "+44 (0)20 7946-0958",  # telephoneNumber (slapd_server.SEED)
    "sql": "+44 (0)20 7946-0958",  # a work_phone column (sql_test_support.PEOPLE)
    "tryton": "+44 20 7946 0958",  # what Tryton makes of "+44 (0)20 7946-0958" (tryton_seed.DANA)
    "bottlecrm": "020-7946-0958",  # the contact's phone text (BOTTLECRM_PEOPLE below)
}
"""How each server holds Dana's number."""

BOTTLECRM_PEOPLE: tuple[dict[str, str], ...] = (
    {"first_name": "Dana", "last_name": "Whitfield", "phone": "020-7946-0958", "organization": "Northwind Traders"},
    # The same last seven digits in another town: a number search must not take him for Dana.
    {"first_name": "Eamon", "last_name": "O'Neill", "phone": "0113 946 0958", "organization": "Contoso"},
)
BOTTLECRM_PREPARE = PLUGINS / "partnercrmd-bottlecrm" / "tests" / "prepare.sh"
PREPARE_TIMEOUT = 1200.0
"""prepare.sh installs django-crm and migrates once (a few minutes); after that it returns at once."""


def plugin_helper(plugin: str, module: str) -> ModuleType:
    """A helper module of an add-in's tests folder (e.g. `plugin_helper("ldap", "slapd_server")`)."""
    if module == "conftest":
        raise ValueError("import the add-in's other helper modules: every conftest is named conftest")
    folder = PLUGINS / f"partnercrmd-{plugin}" / "tests"
    if not (folder / f"{module}.py").is_file():
        raise ModuleNotFoundError(f"{folder / module}.py is missing")
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    return importlib.import_module(module)


@dataclass
class Backend:
    """One running server and the settings of an address book on it."""

    kind: str
    """The server kind (`ALL_KINDS`); for the five of `KINDS` also the integration id of its add-in."""
    port: int
    settings: dict[str, Any]
    """What `configure_book(app, kind, **settings)` takes."""
    server: Any
    """The add-in helper's own server object (RadicaleServer, Slapd, PostgresServer, TrytonServer, BottleCrmServer,
    MariaDbServer, SambaDC, RtServer, DavicalServer, SogoServer, Thunderbird, EdsSession)."""
    _stop: Callable[[], None]
    _release: Sequence[Callable[[], None]] = field(default_factory=tuple)
    extra: dict[str, Any] = field(default_factory=dict)
    """What else the helper returned (a PostgresBook, the Tryton seed's ids, BottleCRM's prepared cache)."""

    @property
    def name(self) -> str:
        return SERVER_NAMES[self.kind]

    @property
    def integration(self) -> str:
        """The integration id of the add-in that talks to this server (sql for MariaDB, carddav for SOGo, …)."""
        return INTEGRATIONS.get(self.kind, self.kind)

    @property
    def address(self) -> str:
        """host:port, as each add-in names the server in an ExceptionText."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server process by its PID (idempotent); its files stay."""
        self._stop()

    def close(self) -> None:
        """Stop the server and release what the helper holds for it (connections, temporary folders)."""
        try:
            self.stop()
        finally:
            for release in self._release:
                with contextlib.suppress(Exception):
                    release()


# --- one starter per kind ----------------------------------------------------------------------------


def start_carddav(root: Path, *, seed: bool = True, addressbook: str = "/alice/contacts/") -> Backend:
    """Radicale with htpasswd sign-in in `root`; with `seed`, Alice's `addressbook` holds carddav_seed.CARDS."""
    servers = plugin_helper("carddav", "carddav_servers")
    server = servers.RadicaleServer(root).start()
    try:
        if seed:
            plugin_helper("carddav", "carddav_seed").seed_book(server.raw("alice"), addressbook)
    except BaseException:
        server.stop()
        raise
    settings = {
        "url": f"{server.url}/",
        "username": "alice",
        "password": servers.RadicaleServer.USERS["alice"],
        "addressbook": addressbook,
    }
    return Backend("carddav", int(server.port), settings, server, server.stop)


def start_ldap(root: Path, indexes: Sequence[str] = ()) -> Backend:
    """slapd in `root` holding slapd_server.SEED (the base entries, service accounts and test people).

    `indexes`: slapd.conf `index` lines (none by default, so searches scan as on an unindexed directory).
    """
    slapd = plugin_helper("ldap", "slapd_server")
    server = slapd.Slapd(root, indexes=indexes)
    server.start()
    try:
        server.ldapadd(slapd.SEED)
    except BaseException:
        server.stop()
        raise
    settings = {
        "url": server.url,
        "bind_dn": slapd.SERVICE_DN,
        "password": slapd.SERVICE_PASSWORD,
        "base_dn": slapd.SUFFIX,
        "preset": "openldap",
    }
    return Backend("ldap", int(server.port), settings, server, server.stop)


def start_sql() -> Backend:
    """A PostgreSQL cluster of its own (a temporary folder) with a contacts table holding sql_test_support.PEOPLE."""
    support = plugin_helper("sql", "sql_test_support")
    server = support.PostgresServer()
    try:
        server.init()
        server.start()
        server.prepare()
        book = support.PostgresBook(server)
    except BaseException:
        server.remove()
        raise
    return Backend(
        "sql", int(server.port), dict(book.settings), server, server.stop, (book.close, server.remove), {"book": book}
    )


def start_tryton(root: Path) -> Backend:
    """trytond on a copy of the prepared database, seeded by tryton_seed (Dana, Harold, Zoë and a clerk)."""
    seeded = plugin_helper("tryton", "tryton_seed").start_seeded(root)
    server = seeded.server
    return Backend("tryton", int(server.port), dict(seeded.settings()), server, server.stop, (), {"ids": seeded.ids})


def bottlecrm_prepared() -> Any:
    """What prepare.sh made (the venv, the migrated database, the tokens); runs prepare.sh when it has not run."""
    helper = plugin_helper("bottlecrm", "bottlecrm_test_server")
    try:
        return helper.Prepared.load()
    except RuntimeError:
        done = subprocess.run(
            ["bash", str(BOTTLECRM_PREPARE)], capture_output=True, text=True, timeout=PREPARE_TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{BOTTLECRM_PREPARE} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}") from None
        return helper.Prepared.load()


def start_bottlecrm(root: Path, *, seed: bool = True, prepared: Any = None) -> Backend:
    """BottleCRM (django-crm, Python 3.12 venv) on a copy of `prepared`'s database; with `seed`, BOTTLECRM_PEOPLE."""
    helper = plugin_helper("bottlecrm", "bottlecrm_test_server")
    prepared = bottlecrm_prepared() if prepared is None else prepared
    server = helper.BottleCrmServer.start(prepared, root)
    try:
        if seed:
            api = server.api()
            for person in BOTTLECRM_PEOPLE:
                api.create_contact(**person)
    except BaseException:
        server.stop()
        raise
    settings = {"url": server.url, "token": prepared.token}
    return Backend("bottlecrm", int(server.port), settings, server, server.stop, (), {"prepared": prepared})


def start_mariadb() -> Backend:
    """A MariaDB server of its own (a temporary folder) with a database holding sql_test_support.PEOPLE."""
    support = plugin_helper("sql", "sql_test_support")
    server = support.MariaDbServer()
    try:
        server.init()
        server.start()
        server.prepare()
        book = support.MariaDbBook(server)
    except BaseException:
        server.remove()
        raise
    release = (book.close, server.remove)
    return Backend("mariadb", int(server.port), dict(book.settings), server, server.stop, release, {"book": book})


def start_samba_ad(root: Path, domain: Path | None = None) -> Backend:
    """A Samba AD domain controller in `root/dc`, with an "Active Directory" book over LDAPS trusting the DC's own
    CA, bound as an ordinary domain user (as test_ldap_samba_ad.py does).

    The DC runs on a copy of samba_dc's cached domain, or of `domain`: a domain folder made from that one (by
    `samba_dc.copy_domain`) whose paths are marked as in samba_dc's cache (`PATH_MARK`), e.g. one holding more
    people. Samba listens on ports 389 and 636 only: one DC per machine at a time.
    """
    samba = plugin_helper("ldap", "samba_dc")
    if domain is None:
        dc = samba.copy_domain(root / "dc")
    else:  # as samba_dc.copy_domain copies its cache
        target = root / "dc"
        shutil.copytree(domain, target, symlinks=True, ignore=shutil.ignore_patterns("ldapi", "run"))
        (target / "run").mkdir()
        conf = target / "etc" / "smb.conf"
        conf.write_text(conf.read_text().replace(samba.PATH_MARK, str(target)))
        dc = samba.SambaDC(target)
    dc.start()
    settings = {
        "url": dc.ldaps_url,
        "bind_dn": samba.SERVICE_UPN,
        "password": samba.SERVICE_PASSWORD,
        "base_dn": samba.BASE_DN,
        "ca_file": str(dc.ca_file),
        "tls_server_name": dc.certificate_name,
    }
    return Backend("samba-ad", samba.LDAPS_PORT, settings, dc, dc.stop)


def start_rt(root: Path, setup: Any = None) -> Backend:
    """Request Tracker 5 (rt-server) in `root/server` on a copy of `setup`'s database (an `rt_server.RtSetup`;
    None: a new one made in `root/setup`), with a REST2 book signed in by root's token."""
    rt_server = plugin_helper("rt", "rt_server")
    if setup is None:
        (root / "setup").mkdir(parents=True, exist_ok=True)
        setup = rt_server.RtSetup.create(root / "setup")
    server = rt_server.RtServer.start(setup, root / "server", copy=True)
    settings = {"url": server.url, "token": setup.root_token}
    return Backend("rt", int(server.port), settings, server, server.stop, (), {"setup": setup})


def start_groupware(kind: str, root: Path, *, seed: bool = True, addressbook: str = "contacts") -> Backend:
    """DAViCal (`kind` "davical") or SOGo ("sogo") in `root`, with a new address book `addressbook` in the test
    user's home; with `seed`, it holds carddav_seed.CARDS (Dana and the decoys), as the CardDAV suite seeds it."""
    groupware = plugin_helper("carddav", "groupware_servers")
    server_class = {"davical": groupware.DavicalServer, "sogo": groupware.SogoServer}[kind]
    root.mkdir(parents=True, exist_ok=True)
    server = server_class(root).start()
    path = f"{server.home}{addressbook}/"
    try:
        if seed:
            plugin_helper("carddav", "carddav_seed").seed_book(server.raw(), path)
        else:
            server.raw().make_addressbook(path, addressbook)
    except BaseException:
        server.stop()
        raise
    settings = {"url": server.url + path, "username": server_class.USER, "password": server_class.PASSWORD}
    return Backend(kind, int(server.port), settings, server, server.stop, (), {"path": path})


def start_thunderbird(root: Path, book: str = "Contacts") -> Backend:
    """A headless Thunderbird with a new profile in `root` holding a new, empty local address book `book`, made by
    Thunderbird itself; the book reads that profile (Thunderbird keeps running: the add-in reads it safely)."""
    app = plugin_helper("thunderbird", "thunderbird_app").Thunderbird(root).start()
    try:
        uri = app.new_book(book)
    except BaseException:
        app.stop()
        raise
    settings = {"profile": str(app.profile), "address_books": book}
    return Backend("thunderbird", 0, settings, app, app.stop, (), {"uri": uri})


def start_evolution(root: Path, book: str = "Contacts") -> Backend:
    """Evolution Data Server on a private session bus (eds_session) with its files in `root` and a new, empty
    local address book `book`, made through EDS's own D-Bus interface.

    The add-in reaches EDS through the session bus DBUS_SESSION_BUS_ADDRESS names, as in a desktop session: this
    sets it in `os.environ`, so this process and the daemons it starts afterwards use this bus.
    """
    sessions = plugin_helper("evolution", "eds_session")
    session = sessions.EdsSession(root).start()
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = session.address

    async def make_book() -> None:
        seeder = sessions.EdsSeeder()
        try:
            await seeder.new_book("partnercrmd-" + book.casefold(), book)
        finally:
            await seeder.close()

    try:
        asyncio.run(make_book())
    except BaseException:
        session.stop()
        raise
    settings = {"address_books": book}
    return Backend("evolution", 0, settings, session, session.stop, (), {"uid": "partnercrmd-" + book.casefold()})


def start_backend(kind: str, root: Path) -> Backend:
    """A seeded server of `kind` in the folder `root` (created; PostgreSQL makes a temporary folder of its own)."""
    root.mkdir(parents=True, exist_ok=True)
    starters: Mapping[str, Callable[[], Backend]] = {
        "carddav": lambda: start_carddav(root),
        "ldap": lambda: start_ldap(root),
        "sql": start_sql,
        "tryton": lambda: start_tryton(root),
        "bottlecrm": lambda: start_bottlecrm(root),
    }
    return starters[kind]()


def start_all(root: Path, kinds: Sequence[str] = KINDS) -> dict[str, Backend]:
    """Start a seeded server of each kind at once (a thread each), in `root/<kind>`.

    If one fails, the others are stopped again and the first failure is raised, naming its server.
    """
    return run_parallel({kind: functools.partial(start_backend, kind, root / kind) for kind in kinds})


def run_parallel(starters: Mapping[str, Callable[[], Backend]], workers: int | None = None) -> dict[str, Backend]:
    """Run each starter in a thread of its own; all of their backends, or none (the started ones are closed).

    `workers`: at most that many at once, in the starters' order (a dozen servers starting together on two CPUs
    miss their helpers' start timeouts); None: every one at once.
    """
    started: dict[str, Backend] = {}
    failures: list[tuple[str, BaseException]] = []
    threads = max(1, min(len(starters), workers or len(starters)))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="backend-start") as pool:
        futures: dict[str, Future[Backend]] = {kind: pool.submit(start) for kind, start in starters.items()}
        for kind, future in futures.items():
            try:
                started[kind] = future.result()
            except BaseException as exc:  # noqa: BLE001  (reported below, after the others are stopped)
                failures.append((kind, exc))
    if failures:
        with contextlib.suppress(Exception):  # the failure to start is what to report
            close_all(started.values())
        failed, error = failures[0]
        raise RuntimeError(f"{SERVER_NAMES.get(failed, failed)} did not start: {error}") from error
    return started


def close_all(backends: Iterable[Backend]) -> None:
    """Stop every server by its PID and release its resources, even when one of them fails to stop."""
    errors: list[BaseException] = []
    for backend in backends:
        try:
            backend.close()
        except Exception as exc:  # noqa: BLE001  (the others must still stop)
            errors.append(exc)
    if errors:
        raise errors[0]


def stopped_message_ok(text: str, backend: Backend) -> bool:
    """Whether an ExceptionText says clearly that `backend` cannot be reached: its address, and what to check.

    Each add-in words it its own way ("The CardDAV server at http://127.0.0.1:… cannot be reached (…); check the
    setting 'url' and that the server is running.", "Cannot reach PostgreSQL at 127.0.0.1:… (database crm)
    (connection refused): is the server running and listening there?", …); all name the address, say that it
    cannot be reached and that the server should be running.
    """
    lowered = text.lower()
    return backend.address in text and "reach" in lowered and "running" in lowered
