#!/usr/bin/env python3
"""Benchmark of the integration add-ins against their real servers, each holding N contacts.

    python bench/backends_bench.py              # N = 10,000 contacts per server
    python bench/backends_bench.py --quick      # N = 1,000 and fewer searches, for a smoke check
    python bench/backends_bench.py --write      # also rewrite the figures in docs/performance.md
    python bench/backends_bench.py --contacts 5000
    python bench/backends_bench.py --quick --servers mariadb,rt   # only some servers (not with --write)

Twelve servers run on 127.0.0.1 (Thunderbird and EDS on no port), started with the add-ins'
own test helpers (through `tests/backend_servers.py`) and stopped by PID at the end:
Radicale (CardDAV), OpenLDAP slapd, PostgreSQL, trytond and BottleCRM, and since issue #22
MariaDB (the SQL add-in), a Samba AD domain controller (the LDAP add-in's "Active
Directory" entry, over LDAPS), Request Tracker 5, DAViCal and SOGo (the CardDAV add-in),
a headless Thunderbird (its profile's address book) and Evolution Data Server (on a
private session bus). Each is seeded with the same N generated people, each with one valid
fictional UK number (Ofcom drama ranges) written in one of five styles, in bulk, the
fastest way the server allows, SEED_WORKERS servers at a time (the slow ones first):

- Radicale: the vCard files are written straight into its storage folder (Radicale
  documents that its files may be changed by scripts), then Radicale reads them once
  to build its item and sync-token caches. That first read takes about a minute for
  10,000 cards, so the folder is kept under ~/.cache/partnercrmd-bench and reused.
- slapd: one `ldapadd` of an LDIF with every entry (last changed on 1 January: the
  Relax Rules control keeps that modifyTimestamp), into a slapd with the index lines
  the LDAP add-in's README recommends.
- PostgreSQL: `COPY` into the contacts table of the SQL add-in's tests, then the
  pg_trgm indexes the add-in's README recommends (on the digits of the phone columns,
  and on the name, company and email columns).
- Tryton: `party.party.create` over JSON-RPC in batches of 500 (phonenumbers checks
  every number); the resulting database is cached like Radicale's folder.
- BottleCRM: Django's `bulk_create` of `Contact` rows into a copy of the prepared
  SQLite database (with `phone_e164` computed as BottleCRM's own `save` would),
  which the server then starts on.
- MariaDB: multi-row `INSERT`s (PyMySQL's `executemany`), then the generated, indexed
  reversed-digits columns the SQL add-in's README recommends for MariaDB
  (`reversed_digits_columns`).
- Samba AD: Samba's own `ldbadd` of every user into the stopped DC's sam.ldb (a copy
  of samba_dc.py's cached domain, whose 1,100 bulk test users are removed first with
  `ldbdel`: their numbers are in the benchmark's range), whenChanged backdated as
  samba_dc.py's seed does; then the DC starts. Samba listens on ports 389 and 636 only:
  no other DC (a test session's) may run at the same time.
- Request Tracker: `RT::User->Create` (RT's Perl API) for every user in one Perl
  process on a new RT database (minutes for 10,000); the database is cached like Tryton's.
- DAViCal and SOGo: a `PUT` of each card over CardDAV, DAV_PUT_CONNECTIONS at once:
  neither offers a bulk import of vCards through its own interface (their storage
  is their own PostgreSQL schema, not written behind their backs).
- Thunderbird: the cards made by Thunderbird's own address book service
  (`VCardUtils.vCardToAbCard` and `addCard`), THUNDERBIRD_BATCH per Marionette script.
- Evolution Data Server: `CreateContacts` over D-Bus, EDS_BATCH vCards per call.

Every daemon (the real `create_app`, each in a child process of its own, with a
temporary PARTNERCRMD_HOME) is started: one per server with only that book, one with
every book, and one with all but the CardDAV books (whose change checks cost Radicale a
second or more of CPU each; see docs/performance.md). Their add-ins' indexes are filled
first (see `warm_connector`), then every daemon gets the same sequential `POST
/api/v1/Search` requests over loopback HTTP in rounds (the daemons take turns, so drift
affects all alike): known numbers in formats no server stores, unknown numbers, and
names. Every answer is checked. The figures: each backend's lookup latency, and the
all-books search compared with the slowest single book of the same run; each book's own
time inside the searches (a wrapper around the search engine's `_search_book` in the
benchmark's own daemons), hence what the daemon adds to its slowest book; and the CPU
time of the daemon and of each server during each daemon's turns.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import http.client
import inspect
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import phonenumbers
from aiohttp import web

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository's `tests` package holds the server helpers
    sys.path.insert(0, str(REPO))

from benchlib import (  # noqa: E402  (bench/ is the script's directory)
    DOC,
    BenchError,
    end_child,
    percentile,
    read_json_line,
    register,
    run_facts,
    tail,
    write_section,
)

from partnercrmd import appkeys  # noqa: E402
from partnercrmd.app import create_app  # noqa: E402
from partnercrmd.books import add_book, remove_book  # noqa: E402
from partnercrmd.config import DaemonConfig  # noqa: E402
from partnercrmd.paths import Paths  # noqa: E402
from partnercrmd.vault_sync import reload_vault  # noqa: E402
from tests.backend_servers import (  # noqa: E402
    ALL_KINDS,
    INTEGRATIONS,
    Backend,
    bottlecrm_prepared,
    close_all,
    plugin_helper,
    run_parallel,
    start_bottlecrm,
    start_carddav,
    start_evolution,
    start_groupware,
    start_ldap,
    start_mariadb,
    start_rt,
    start_samba_ad,
    start_sql,
    start_thunderbird,
    start_tryton,
)

HOST = "127.0.0.1"
REGION = "GB"
SECTION_BEGIN = "<!-- backends-bench-section:begin (this section belongs to bench/backends_bench.py) -->"
SECTION_END = "<!-- backends-bench-section:end -->"
BEGIN_MARK = "<!-- backends-bench:begin (generated by bench/backends_bench.py --write) -->"
END_MARK = "<!-- backends-bench:end -->"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "partnercrmd-bench"
DATA_VERSION = 1
"""Part of the cache names: change it when the generated people change."""
SEED = 20261125
CONTACTS = 10_000
QUICK_CONTACTS = 1_000
ALL = "all books"
NO_CARDDAV = "all but CardDAV"
SERVERS: tuple[str, ...] = ALL_KINDS
"""The servers of this run, by kind (tests/backend_servers.py): every one, or those `--servers` names."""
GROUPS: dict[str, tuple[str, ...]] = {}
"""The daemons with several books, and which: every server's book, and all but the CardDAV ones (`choose`)."""
CONFIGS: tuple[str, ...] = ()
"""Every daemon: one per server, then the groups."""


def choose(servers: Sequence[str]) -> None:
    """Make `servers` (kinds, in ALL_KINDS' order) this run's: SERVERS, GROUPS and CONFIGS follow them."""
    global SERVERS, GROUPS, CONFIGS  # the run's one selection, read by the report's tables
    unknown = set(servers) - set(ALL_KINDS)
    if unknown or not servers:
        raise SystemExit(f"--servers takes some of {', '.join(ALL_KINDS)}; not {', '.join(sorted(unknown))}")
    SERVERS = tuple(k for k in ALL_KINDS if k in servers)
    GROUPS = {ALL: SERVERS}
    others = tuple(k for k in SERVERS if INTEGRATIONS.get(k, k) != "carddav")
    if 1 < len(others) < len(SERVERS):
        GROUPS[NO_CARDDAV] = others
    CONFIGS = (*SERVERS, *GROUPS)


choose(ALL_KINDS)
SEARCH_TIMEOUT_MS = 10_000
"""The deadline the benchmark's searches ask for: long, so that slow answers are measured, not cut off."""
DEFAULT_DEADLINE = 1.5
TURN_PAUSE = 3.0
"""Seconds between two daemons' turns: longer than a CardDAV change check of 10,000 cards takes in Radicale."""
"""The daemon's default deadline: answers slower than this are counted."""
TRYTON_BATCH = 500
MARIADB_BATCH = 1_000
MARIADB_PHONE_COLUMNS = ("work_phone", "mobile")
"""The phone columns of the SQL add-in's test table (sql_test_support.TABLE_SETTINGS)."""
DAV_PUT_CONNECTIONS = 8
THUNDERBIRD_BATCH = 1_000
EDS_BATCH = 500
SEED_WORKERS = 4
"""Servers started and seeded at once (all twelve at once on two CPUs: trytond misses its start timeout)."""
SLOW_TO_SEED = ("davical", "rt", "samba-ad", "tryton", "carddav")
"""Started first: the longest seedings (the last two only when their cache is missing)."""
SEED_LIMITS: dict[str, int] = {}
"""Servers that hold fewer people than the others (too slow to seed with N in reasonable time), by kind."""
RT_SEED_SCRIPT = r"""
use strict; use warnings;
use JSON::PP; use RT; RT::LoadConfig(); RT::Init();
my $count = 0;
while (my $line = <STDIN>) {
    my $fields = decode_json($line);
    my $user = RT::User->new(RT->SystemUser);
    my ($id, $msg) = $user->Create(%$fields, Privileged => 0);
    die "user $fields->{Name}: $msg\n" unless $id;
    $count++;
}
print "CREATED $count\n";
"""
BOTTLECRM_SEED_SCRIPT = """
import json, sys
import django
django.setup()
from common.models import Org
from common.phones import to_e164
from contacts.models import Contact
org = Org.objects.get()
people = json.load(sys.stdin)
Contact.objects.bulk_create(
    [
        Contact(org=org, first_name=p["first_name"], last_name=p["last_name"], phone=p["phone"],
                phone_e164=to_e164(p["phone"], org.default_country))
        for p in people
    ],
    batch_size=500,
)
print(Contact.objects.filter(org=org).count())
"""

# --- the people -----------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Alice", "Bob", "Chris", "Dana", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jonas", "Kasia", "Liam", "Maya",
    "Noor", "Oscar", "Priya", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Yusuf", "Zoe",
)  # fmt: skip
SYLLABLES = (
    "ba", "ke", "lo", "mi", "nu", "ra", "se", "ti", "vo", "za", "do", "fe",
    "gu", "ha", "ji", "ko", "le", "mo", "ne", "pi", "ru", "sa", "to", "wi",
)  # fmt: skip
# Fictional UK numbers (Ofcom's drama ranges) that phonenumbers, and so Tryton, takes as valid: national
# significant number prefixes, each completed to 10 digits with 1,000 numbers. Not 020 7946 0xxx nor
# 0161 496 0xxx: the test people seeded next to the generated ones hold numbers there.
NUMBER_BLOCKS = (
    "113496", "114496", "116496", "117496", "118496", "121496",
    "131496", "141496", "151496", "191498", "2896496", "2920180",
)  # fmt: skip
STYLE_NAMES = ("+44 113 496 0123", "0113 496 0123", "(0113) 496-0123", "+44 (0)113 496 0123", "01134960123")
LDAP_INDEXES = ("index objectClass eq", "index cn,sn,givenName,mail,o eq,sub", "index modifyTimestamp eq")
"""The slapd.conf lines the LDAP add-in's README recommends (name searches; unknown numbers' time bound)."""
LDAP_CHANGED = "20260101000000Z"
"""modifyTimestamp of the seeded entries: a directory's people were not all added a minute before a lookup."""
SQL_TEXT_COLUMNS = ("first_name", "last_name", "company", "email")
"""The SQL book's name, company and email columns (those its name search reads)."""
STYLE_OFFSETS = {
    "carddav": 0, "ldap": 1, "sql": 2, "bottlecrm": 4,
    "mariadb": 3, "samba-ad": 0, "rt": 1, "davical": 2, "sogo": 3, "thunderbird": 4, "evolution": 0,
}  # fmt: skip
"""Each server holds a contact's number in another of the five styles."""
INTERNATIONAL_STYLES = (0, 3)
"""Tryton's: without a country it takes only international numbers, and stores them as +44 113 496 0123."""


@dataclass(frozen=True)
class Person:
    index: int
    first: str
    last: str
    nsn: str
    """National significant number, e.g. 1134960123."""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def stored(self, kind: str) -> str:
        """The number as the server of `kind` holds it."""
        styles = number_styles(self.nsn)
        if kind == "tryton":  # it refuses a national number (no country to read it in) and reformats the others
            return styles[INTERNATIONAL_STYLES[self.index % len(INTERNATIONAL_STYLES)]]
        return styles[(self.index + STYLE_OFFSETS[kind]) % len(STYLE_NAMES)]


def number_styles(nsn: str) -> list[str]:
    """The five ways the servers hold a number: +44 113 496 0123, 0113 496 0123, (0113) 496-0123, …"""
    parsed = phonenumbers.parse("+44" + nsn)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    area, _, rest = national.partition(" ")
    return [
        international,
        national,
        f"({area}) {rest.replace(' ', '-')}",
        international.replace(" ", " (0)", 1),
        national.replace(" ", ""),
    ]


def query_forms(nsn: str) -> list[str]:
    """Ways of typing a number that no server stores: +441134960123 and 0044 113 496 0123."""
    international = number_styles(nsn)[0]
    return ["+44" + nsn, "00" + international.removeprefix("+")]


@dataclass(frozen=True)
class Query:
    text: str
    kind: str
    """"number" (a known caller), "unknown" (a number no one has) or "name"."""
    expected: str
    """The display name every book must answer with; "" for no one."""


@dataclass
class Dataset:
    people: list[Person]
    spare_numbers: list[str]


def make_people(count: int, seed: int = SEED) -> Dataset:
    """`count` people with unique last names (8 letters, longer than any first name) and unique numbers."""
    pool = [block + str(n).zfill(10 - len(block)) for block in NUMBER_BLOCKS for n in range(1000)]
    if count > len(pool) - 100:
        raise SystemExit(f"at most {len(pool) - 100} contacts (the fictional number ranges hold {len(pool)})")
    rng = random.Random(seed)
    rng.shuffle(pool)
    surnames: set[str] = set()
    people: list[Person] = []
    for index in range(count):
        while True:
            surname = "".join(rng.choice(SYLLABLES) for _ in range(4)).capitalize()
            if surname not in surnames:
                surnames.add(surname)
                break
        people.append(Person(index, rng.choice(FIRST_NAMES), surname, pool[index]))
    return Dataset(people, pool[count:])


def make_queries(data: Dataset, rounds: int, per_round: dict[str, int], seed: int = SEED + 1) -> list[list[Query]]:
    """The searches of each round: known callers in a format no server stores, unknown numbers, and names."""
    rng = random.Random(seed)
    callers = rng.sample(data.people, rounds * per_round["number"])
    named = rng.sample(data.people, rounds * per_round["name"])
    strangers = rng.sample(data.spare_numbers, rounds * per_round["unknown"])
    made: list[list[Query]] = []
    for r in range(rounds):
        queries = [
            Query(query_forms(p.nsn)[i % 2], "number", p.name)
            for i, p in enumerate(callers[r * per_round["number"] : (r + 1) * per_round["number"]])
        ]
        queries += [
            Query(query_forms(nsn)[i % 2], "unknown", "")
            for i, nsn in enumerate(strangers[r * per_round["unknown"] : (r + 1) * per_round["unknown"]])
        ]
        queries += [
            Query(p.last if i % 2 else p.name.lower(), "name", p.name)
            for i, p in enumerate(named[r * per_round["name"] : (r + 1) * per_round["name"]])
        ]
        rng.shuffle(queries)
        made.append(queries)
    return made


# --- seeding each server --------------------------------------------------------------------------------------


@dataclass
class Seeding:
    how: str
    seconds: float
    cached: bool = False


def _progress(text: str) -> None:
    print(f"[backends_bench] {text}", file=sys.stderr, flush=True)


def dav_request(backend: Backend, method: str, path: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One WebDAV request as Alice, waiting as long as Radicale needs (its first read of 10,000 cards: a minute)."""
    password = str(backend.settings["password"])
    auth = base64.b64encode(f"alice:{password}".encode()).decode()
    connection = http.client.HTTPConnection(HOST, backend.port, timeout=900)
    try:
        connection.request(method, path, body=body.encode(), headers={**headers, "Authorization": f"Basic {auth}"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def vcard(person: Person, kind: str = "carddav") -> str:
    """The person as a vCard 3.0, the number written as the server of `kind` holds it."""
    uid = f"bench-{person.index:05d}"
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:{uid}",
        f"FN:{person.name}",
        f"N:{person.last};{person.first};;;",
        f"TEL;TYPE=WORK,VOICE:{person.stored(kind)}",
        "END:VCARD",
    ]
    return "\r\n".join(lines) + "\r\n"


def seed_carddav(people: Sequence[Person]) -> Backend:
    """Radicale on a storage folder kept in CACHE: filled once by writing the cards into it, then reused."""
    root = CACHE / f"radicale-{len(people)}-v{DATA_VERSION}"
    marker = root / "seeded"
    cached = marker.exists()
    if not cached:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    backend = start_carddav(root, seed=False, addressbook="/alice/bench/")
    try:
        if cached:
            return _with_seeding(backend, Seeding(marker.read_text(encoding="utf-8"), 0.0, cached=True))
        started = time.perf_counter()
        backend.server.raw("alice").make_addressbook("/alice/bench/", "Bench")
        folder = root / "collections" / "collection-root" / "alice" / "bench"
        for person in people:
            (folder / f"bench-{person.index:05d}.vcf").write_text(vcard(person), encoding="utf-8", newline="")
        written = time.perf_counter() - started
        # Radicale parses every new file on its first read and caches the result; the first sync-token is
        # computed over all items too. Both happen here once, not in the middle of the measurements.
        listing = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
        tokens = (
            '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
            "<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"
        )
        for depth, body in (("1", listing), ("0", tokens)):
            status, _ = dav_request(backend, "PROPFIND", "/alice/bench/", body, {"Depth": depth})
            if status != 207:
                raise RuntimeError(f"Radicale answered PROPFIND with {status}")
        total = time.perf_counter() - started
        how = (
            f"{len(people):,} vCard files written into Radicale's storage folder ({written:.1f} s), then read once "
            f"by Radicale to fill its caches ({total - written:.0f} s); {total:.0f} s in all, on the first run"
        )
        marker.write_text(how, encoding="utf-8")
        return _with_seeding(backend, Seeding(how, total))
    except BaseException:
        backend.close()
        raise


def _with_seeding(backend: Backend, seeding: Seeding) -> Backend:
    backend.extra["seeding"] = seeding
    return backend


def seed_ldap(people: Sequence[Person], root: Path) -> Backend:
    slapd = plugin_helper("ldap", "slapd_server")
    backend = start_ldap(root, indexes=LDAP_INDEXES)
    try:
        started = time.perf_counter()
        entries = [
            slapd.person(
                p.name, givenName=p.first, sn=p.last, telephoneNumber=p.stored("ldap"), modifyTimestamp=LDAP_CHANGED
            )
            for p in people
        ]
        backend.server.ldapadd("\n".join(entries), timeout=600, relax=True)
        seconds = time.perf_counter() - started
        how = (
            f"one `ldapadd` of {len(people):,} inetOrgPerson entries (telephoneNumber; last changed on 1 January, "
            "kept with the Relax Rules control), into a slapd with the README's index lines"
        )
        return _with_seeding(backend, Seeding(how, seconds))
    except BaseException:
        backend.close()
        raise


def seed_sql(people: Sequence[Person]) -> Backend:
    backend = start_sql()
    try:
        book = backend.extra["book"]
        started = time.perf_counter()
        table = f"{book.schema}.contacts"
        with book.db.cursor() as cursor:
            with cursor.copy(f"COPY {table} (first_name, last_name, work_phone) FROM STDIN") as copy:
                for person in people:
                    copy.write_row((person.first, person.last, person.stored("sql")))
            copied = time.perf_counter() - started
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for column in ("work_phone", "mobile"):
                digits = f"regexp_replace(CAST({column} AS text), '[^0-9]', '', 'g')"
                cursor.execute(f"CREATE INDEX ON {table} USING gin (({digits}) gin_trgm_ops)")
            for column in SQL_TEXT_COLUMNS:
                cursor.execute(f"CREATE INDEX ON {table} USING gin ((CAST({column} AS text)) gin_trgm_ops)")
            cursor.execute(f"ANALYZE {table}")
        seconds = time.perf_counter() - started
        how = (
            f"`COPY` of {len(people):,} rows ({copied:.2f} s), then the README's pg_trgm GIN indexes on the digits "
            "of each phone column and on each name, company and email column, and ANALYZE"
        )
        return _with_seeding(backend, Seeding(how, seconds))
    except BaseException:
        backend.close()
        raise


def tryton_party(person: Person) -> dict[str, Any]:
    return {
        "name": person.name,
        "contact_mechanisms": [["create", [{"type": "phone", "value": person.stored("tryton")}]]],
    }


def seed_tryton(people: Sequence[Person], root: Path) -> Backend:
    """trytond on a database holding the people; built once (party.party.create in batches) and cached."""
    testserver = plugin_helper("tryton", "tryton_testserver")
    cached_file = CACHE / f"tryton-{testserver.TRYTOND_VERSION}-{len(people)}-v{DATA_VERSION}.sqlite"
    note = cached_file.with_suffix(".txt")
    cached = cached_file.exists() and note.exists()
    seconds = 0.0
    if not cached:
        started = time.perf_counter()
        builder = start_tryton(root / "build")
        try:
            admin = builder.server.admin()
            for offset in range(0, len(people), TRYTON_BATCH):
                admin.call(
                    "model.party.party.create", [tryton_party(p) for p in people[offset : offset + TRYTON_BATCH]]
                )
        finally:
            builder.close()
        seconds = time.perf_counter() - started
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached_file.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        copy_sqlite(builder.server.database_file, partial)
        os.replace(partial, cached_file)
        how = (
            f"`party.party.create` over JSON-RPC in batches of {TRYTON_BATCH} ({len(people):,} parties, each with a "
            f"phone; {seconds:.0f} s on the first run, server start included)"
        )
        note.write_text(how, encoding="utf-8")
    backend = start_tryton_from(cached_file, root / "server")
    return _with_seeding(backend, Seeding(note.read_text(encoding="utf-8"), seconds, cached))


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database, whatever is still in its write-ahead log (Tryton uses WAL)."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def start_tryton_from(database: Path, directory: Path) -> Backend:
    """trytond on a copy of `database`, as tryton_testserver.start runs it on its prepared template."""
    testserver = plugin_helper("tryton", "tryton_testserver")
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, directory / f"{testserver.DATABASE}.sqlite")
    port = int(testserver.free_port())
    config = directory / "trytond.conf"
    config.write_text(testserver.config_text(directory, port), encoding="utf-8")
    log = (directory / "trytond.log").open("wb")
    command = [sys.executable, "-m", "trytond.cli", "-c", str(config), "-d", testserver.DATABASE]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory)  # stopped by PID
    server = testserver.TrytonServer(directory, port, process, log)
    try:
        testserver.wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    settings = {
        "url": server.url,
        "database": testserver.DATABASE,
        "username": testserver.ADMIN,
        "password": testserver.ADMIN_PASSWORD,
    }
    return Backend("tryton", port, settings, server, server.stop)


def seed_bottlecrm(people: Sequence[Person], root: Path) -> Backend:
    """BottleCRM started on a copy of the prepared database into which Django's bulk_create wrote the people."""
    helper = plugin_helper("bottlecrm", "bottlecrm_test_server")
    prepared = bottlecrm_prepared()
    seed_dir = root / "seed"
    seed_dir.mkdir(parents=True, exist_ok=True)
    database = seed_dir / "db.sqlite3"
    shutil.copyfile(prepared.database, database)
    env = {
        **os.environ,
        "BOTTLECRM_DATA": str(seed_dir),
        "PYTHONPATH": str(prepared.site),
        "DJANGO_SETTINGS_MODULE": "partnercrmd_test_settings",
        "SECRET_KEY": helper.SECRET_KEY,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    rows = [{"first_name": p.first, "last_name": p.last, "phone": p.stored("bottlecrm")} for p in people]
    started = time.perf_counter()
    done = subprocess.run(
        [str(prepared.python), "-c", BOTTLECRM_SEED_SCRIPT],
        input=json.dumps(rows),
        capture_output=True,
        text=True,
        env=env,
        cwd=seed_dir,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0 or done.stdout.strip() != str(len(people)):
        raise RuntimeError(f"seeding BottleCRM failed:\n{done.stdout[-1000:]}{done.stderr[-3000:]}")
    backend = start_bottlecrm(root / "server", seed=False, prepared=dataclasses.replace(prepared, database=database))
    how = (
        f"Django `bulk_create` of {len(people):,} `Contact` rows (with `phone_e164` as BottleCRM's `save` sets it) "
        "into a copy of the prepared SQLite database, run in BottleCRM's venv; the server then starts on it"
    )
    return _with_seeding(backend, Seeding(how, seconds))


def seed_mariadb(people: Sequence[Person]) -> Backend:
    """MariaDB: multi-row INSERTs, then the README's generated reversed-digits columns with their indexes."""
    backend = start_mariadb()
    try:
        book = backend.extra["book"]
        started = time.perf_counter()
        rows = [(p.first, p.last, p.stored("mariadb")) for p in people]
        with book.db.cursor() as cursor:
            for offset in range(0, len(rows), MARIADB_BATCH):  # PyMySQL sends each batch as one INSERT … VALUES
                cursor.executemany(
                    "INSERT INTO contacts (first_name, last_name, work_phone) VALUES (%s, %s, %s)",
                    rows[offset : offset + MARIADB_BATCH],
                )
            inserted = time.perf_counter() - started
            cursor.execute(
                "ALTER TABLE contacts "
                + ", ".join(
                    f"ADD COLUMN {column}_rdigits VARCHAR(50) GENERATED ALWAYS AS "
                    f"(REVERSE(REGEXP_REPLACE({column}, '[^0-9]', ''))) STORED, "
                    f"ADD INDEX contacts_{column}_rdigits ({column}_rdigits)"
                    for column in MARIADB_PHONE_COLUMNS
                )
            )
            cursor.execute("ANALYZE TABLE contacts")
        backend.settings["reversed_digits_columns"] = ", ".join(f"{c}:{c}_rdigits" for c in MARIADB_PHONE_COLUMNS)
        seconds = time.perf_counter() - started
        how = (
            f"multi-row `INSERT` of {len(people):,} rows in batches of {MARIADB_BATCH} ({inserted:.2f} s), then the "
            "README's generated, indexed reversed-digits column of each phone column (`reversed_digits_columns`)"
        )
        return _with_seeding(backend, Seeding(how, seconds))
    except BaseException:
        backend.close()
        raise


def samba_user(person: Person) -> str:
    """The person as an AD user (LDIF for Samba's ldbadd)."""
    samba = plugin_helper("ldap", "samba_dc")
    text: str = samba.user(
        person.name,
        f"bench{person.index:05d}",
        givenName=person.first,
        sn=person.last,
        telephoneNumber=person.stored("samba-ad"),
    )
    return text


def seed_samba(people: Sequence[Person], root: Path) -> Backend:
    """Samba AD: the people added by Samba's own `ldbadd` into a stopped DC's sam.ldb, then backdated; that domain
    is kept in CACHE (its paths marked as samba_dc.py's cache marks them) and a copy of it serves each run."""
    samba = plugin_helper("ldap", "samba_dc")
    cached = CACHE / f"samba-ad-{samba.samba_version()}-{len(people)}-v{DATA_VERSION}"
    note = cached / "seeded.json"
    seconds = 0.0
    if not note.exists():
        started = time.perf_counter()
        building = cached.with_name(cached.name + f".building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        dc = samba.copy_domain(building / "dc")
        # The test seed's bulk people hold +44 113 496 0000-1099, numbers the benchmark's people have too.
        bulk = [f"CN=Bulk Person {n:04},{samba.USERS}" for n in range(samba.BULK_PEOPLE)]
        subprocess.run(["ldbdel", "-H", str(dc.sam_ldb), *bulk], check=True, capture_output=True, timeout=1800)
        removed = time.perf_counter() - started
        entries = [samba_user(p) for p in people]
        dc.ldb("ldbadd", "\n".join(entries))
        added = time.perf_counter() - started - removed
        # As samba_dc's seed: whenChanged written into the domain partition's file itself (Samba's modules stamp
        # the current time), so that the people were not all changed a minute before the lookups.
        backdate = "\n".join(
            f"{entry.splitlines()[0]}\nchangetype: modify\nreplace: whenChanged\nwhenChanged: {samba.LONG_AGO}\n"
            for entry in entries
        )
        dc.ldb_raw(dc.sam_ldb.parent / "sam.ldb.d" / f"{samba.BASE_DN.upper()}.ldb", backdate)
        conf = dc.smb_conf
        conf.write_text(conf.read_text().replace(str(building / "dc"), samba.PATH_MARK))
        seconds = time.perf_counter() - started
        how = (
            f"the test seed's {samba.BULK_PEOPLE:,} bulk users removed (`ldbdel`, {removed:.0f} s: their numbers are "
            f"in the benchmark's range), then one `ldbadd` (Samba's own tool) of {len(people):,} users "
            f"(telephoneNumber) into the stopped DC's sam.ldb ({added:.0f} s), whenChanged backdated in the partition "
            f"file as samba_dc.py's seed does; {seconds:.0f} s on the first run; the domain is cached, the DC starts "
            "on a copy"
        )
        (building / "seeded.json").write_text(json.dumps({"how": how}), encoding="utf-8")
        shutil.rmtree(cached, ignore_errors=True)
        building.rename(cached)
    backend = start_samba_ad(root, domain=cached / "dc")
    how = json.loads(note.read_text(encoding="utf-8"))["how"]
    return _with_seeding(backend, Seeding(how, seconds, cached=seconds == 0.0))


def seed_rt(people: Sequence[Person], root: Path) -> Backend:
    """Request Tracker: users made by RT's own Perl API (`RT::User->Create`) in one process; cached database."""
    rt_server = plugin_helper("rt", "rt_server")
    cached_file = CACHE / f"rt-{len(people)}-v{DATA_VERSION}.sqlite"
    note = cached_file.with_suffix(".json")
    cached = cached_file.exists() and note.exists()
    seconds = 0.0
    if not cached:
        started = time.perf_counter()
        folder = root / "setup"
        folder.mkdir(parents=True, exist_ok=True)
        setup = rt_server.RtSetup.create(folder)
        rows = "".join(
            json.dumps({"Name": f"bench{p.index:05d}", "RealName": p.name, "WorkPhone": p.stored("rt")}) + "\n"
            for p in people
        )
        done = subprocess.run(
            ["perl", "-e", RT_SEED_SCRIPT],
            input=rows,
            capture_output=True,
            text=True,
            env=rt_server.rt_environment(folder),
            timeout=3600,
            check=False,
        )
        if done.returncode != 0 or done.stdout.strip() != f"CREATED {len(people)}":
            raise RuntimeError(f"seeding RT failed:\n{done.stdout[-1000:]}{done.stderr[-3000:]}")
        seconds = time.perf_counter() - started
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(setup.database, cached_file)
        how = (
            f"`RT::User->Create` (RT's own Perl API) for {len(people):,} users (WorkPhone) in one Perl process, on a "
            f"new RT database ({seconds:.0f} s on the first run, RT's set-up included)"
        )
        note.write_text(
            json.dumps({"how": how, "root": setup.root_token, "agent": setup.agent_token}), encoding="utf-8"
        )
    saved = json.loads(note.read_text(encoding="utf-8"))
    setup = rt_server.RtSetup(cached_file, saved["root"], saved["agent"], 0.0)
    backend = start_rt(root, setup)  # rt-server runs on a copy of the cached database
    return _with_seeding(backend, Seeding(saved["how"], seconds, cached))


def seed_groupware(kind: str, people: Sequence[Person], root: Path) -> Backend:
    """DAViCal or SOGo: every card PUT over CardDAV by several connections at once (neither has a bulk import
    of vCards that its own interface offers; both keep the cards in PostgreSQL, with their own indexes)."""
    backend = start_groupware(kind, root, seed=False, addressbook="bench")
    try:
        raw, path = backend.server.raw(), backend.extra["path"]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=DAV_PUT_CONNECTIONS, thread_name_prefix=f"{kind}-put") as pool:
            list(pool.map(lambda p: raw.put_card(f"{path}bench-{p.index:05d}.vcf", vcard(p, kind)), people))
        seconds = time.perf_counter() - started
        how = f"`PUT` of each of {len(people):,} vCards over CardDAV, {DAV_PUT_CONNECTIONS} connections at once"
        return _with_seeding(backend, Seeding(how, seconds))
    except BaseException:
        backend.close()
        raise


def seed_thunderbird(people: Sequence[Person], root: Path) -> Backend:
    """Thunderbird: the cards made by Thunderbird itself (its address book service), many per script."""
    backend = start_thunderbird(root, "Bench")
    try:
        app, uri = backend.server, backend.extra["uri"]
        assert app.marionette is not None
        app.marionette.call("WebDriver:SetTimeouts", {"script": 600_000})
        started = time.perf_counter()
        for offset in range(0, len(people), THUNDERBIRD_BATCH):
            cards = [vcard(p, "thunderbird") for p in people[offset : offset + THUNDERBIRD_BATCH]]
            app.run(
                "const dir = book(arguments[0]);"
                "for (const text of arguments[1]) dir.addCard(VCardUtils.vCardToAbCard(text));"
                "return dir.childCardCount;",
                uri,
                cards,
            )
        seconds = time.perf_counter() - started
        how = (
            f"`addCard` of {len(people):,} cards made by `VCardUtils.vCardToAbCard` (Thunderbird's own address book "
            f"service), {THUNDERBIRD_BATCH} per Marionette script, into abook-1.sqlite; Thunderbird keeps running"
        )
        return _with_seeding(backend, Seeding(how, seconds))
    except BaseException:
        backend.close()
        raise


def seed_evolution(people: Sequence[Person], root: Path) -> Backend:
    """Evolution Data Server: `CreateContacts` over D-Bus with many vCards per call."""
    backend = start_evolution(root, "Bench")
    sessions = plugin_helper("evolution", "eds_session")

    async def create_all() -> None:
        seeder = sessions.EdsSeeder()
        try:
            for offset in range(0, len(people), EDS_BATCH):
                cards = [vcard(p, "evolution") for p in people[offset : offset + EDS_BATCH]]
                await seeder._call(backend.extra["uid"], "CreateContacts", "asu", cards, 0)
        finally:
            await seeder.close()

    try:
        started = time.perf_counter()
        asyncio.run(create_all())
        seconds = time.perf_counter() - started
        how = f"EDS's own `CreateContacts` over D-Bus, {EDS_BATCH} vCards per call, into a local address book"
        return _with_seeding(backend, Seeding(how, seconds))
    except BaseException:
        backend.close()
        raise


def seed_all(people: Sequence[Person], root: Path) -> dict[str, Backend]:
    """Every server of the run started and seeded, SEED_WORKERS at once, the slow ones first (`SEED_LIMITS`: fewer
    people)."""

    def held(kind: str) -> Sequence[Person]:
        return people[: SEED_LIMITS.get(kind, len(people))]

    starters: dict[str, Callable[[], Backend]] = {
        "carddav": lambda: seed_carddav(held("carddav")),
        "ldap": lambda: seed_ldap(held("ldap"), root / "ldap"),
        "sql": lambda: seed_sql(held("sql")),
        "tryton": lambda: seed_tryton(held("tryton"), root / "tryton"),
        "bottlecrm": lambda: seed_bottlecrm(held("bottlecrm"), root / "bottlecrm"),
        "mariadb": lambda: seed_mariadb(held("mariadb")),
        "samba-ad": lambda: seed_samba(held("samba-ad"), root / "samba-ad"),
        "rt": lambda: seed_rt(held("rt"), root / "rt"),
        "davical": lambda: seed_groupware("davical", held("davical"), root / "davical"),
        "sogo": lambda: seed_groupware("sogo", held("sogo"), root / "sogo"),
        "thunderbird": lambda: seed_thunderbird(held("thunderbird"), root / "thunderbird"),
        "evolution": lambda: seed_evolution(held("evolution"), root / "evolution"),
    }
    slowest_first = sorted(SERVERS, key=lambda kind: kind not in SLOW_TO_SEED)
    return run_parallel({kind: starters[kind] for kind in slowest_first}, workers=SEED_WORKERS)


# --- the daemon, in a child process ----------------------------------------------------------------------------


async def _no_browser(url: str) -> None:
    """The daemon must never open a browser during a benchmark."""


def _emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


async def configure(app: web.Application, books: list[dict[str, Any]]) -> list[str]:
    """Replace every configured book (the local one included) by `books`; the open books' names."""
    vault = app[appkeys.VAULT]
    host = app[appkeys.HOST]
    for book in app[appkeys.BOOKS].books():
        await asyncio.to_thread(remove_book, vault, book.id)
    for spec in books:
        integration = host.integration(spec["integration"])
        if integration is None:
            raise BenchError(host.unavailable_reason(spec["integration"]))
        await asyncio.to_thread(add_book, vault, integration, {"name": spec["name"], **spec["settings"]})
    await reload_vault(app)
    return [b.name for b in app[appkeys.BOOKS].enabled() if b.connector is not None]


async def warm_connector(connector: object) -> str:
    """Fill an add-in's local index now, the way it would in the background; what was done.

    The add-ins keep such indexes where their server cannot match numbers whatever their format or is slow
    to search (CardDAV: cards and names; Tryton and Active Directory: numbers and names; OpenLDAP and
    BottleCRM: numbers). Their methods are found by duck typing, so a changed add-in makes this say "no index"
    rather than fail; SQL asks its server each time. RT keeps a number index (`refresh_index`, as BottleCRM),
    Samba AD is the LDAP add-in's, DAViCal and SOGo the CardDAV add-in's; Evolution and Thunderbird keep every
    contact in memory.
    """
    inner = getattr(connector, "blocking", connector)  # a BlockingConnector runs inside a ThreadedConnector
    index_fill, index = getattr(inner, "index_fill", None), getattr(inner, "index", None)
    if callable(index_fill) and index is not None:  # LDAP (blocking: in a worker thread)
        count = await asyncio.to_thread(index.refresh, index_fill)
        holds_names = getattr(index, "holds_names", None)
        if callable(holds_names) and holds_names():  # Active Directory: names too (LDAP add-in 0.4.0)
            return (
                "number and name index: every contact's phone and name attributes read by a paged search "
                f"({count} numbers)"
            )
        return f"number index: every contact's phone attributes read by a paged search ({count} numbers)"
    refresh_index = getattr(inner, "refresh_index", None)
    if callable(refresh_index):  # BottleCRM
        return f"number index: every contact read through the REST API ({await refresh_index()} numbers)"
    sync = getattr(inner, "sync", None)
    if sync is not None and callable(getattr(sync, "start", None)):  # CardDAV
        await sync.start()
        return "card index: the address book listed (PROPFIND) and every card fetched (addressbook-multiget)"
    client = getattr(inner, "client", None)
    if index is not None and client is not None and callable(getattr(index, "refresh", None)):  # Tryton
        counts = await index.refresh(client)
        return f"number and name index: every party and contact mechanism read by search_read ({counts})"
    entries = getattr(inner, "entries", None)
    if callable(entries):  # Evolution (async, contacts kept by book revision), Thunderbird (blocking, SQLite)
        held = await entries() if inspect.iscoroutinefunction(entries) else await asyncio.to_thread(entries)
        return f"contacts in memory: every card of the address book read ({len(held)} contacts)"
    return "no local index: every search asks the server"


async def warm(app: web.Application) -> dict[str, Any]:
    """Every open book's index filled, at once; per book: what was done and how long it took (or the error)."""

    async def one(book: Any) -> tuple[str, dict[str, Any]]:
        started = time.perf_counter()
        try:
            how = await warm_connector(book.connector)
        except Exception as exc:  # noqa: BLE001  (reported to the parent, which stops)
            return book.name, {"error": f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"}
        return book.name, {"how": how, "seconds": time.perf_counter() - started}

    books = [b for b in app[appkeys.BOOKS].enabled() if b.connector is not None]
    return dict(await asyncio.gather(*(one(b) for b in books)))


def record_book_times(app: web.Application, into: list[tuple[str, str, float]]) -> None:
    """Note each book's own time in every search, as the search engine measures it (`BookResult.seconds`).

    A wrapper around `SearchEngine._search_book` of this benchmark's daemon only: it shows, inside a search of
    several books, how long each took, so that books slowed by sharing the CPUs can be told from books waiting
    for one another.
    """
    engine = app[appkeys.SEARCH]
    search_book = engine._search_book

    async def timed(book: Any, query: Any, request: Any) -> Any:
        result = await search_book(book, query, request)
        into.append((book.name, query.text, result.seconds))
        return result

    setattr(engine, "_search_book", timed)  # noqa: B010  (an instance attribute over the method, for this daemon)


async def serve() -> None:
    """Child process: serve the daemon on 127.0.0.1 until told to stop on stdin (or stdin closes).

    Control lines on stdin, answered with JSON lines on stdout: `books JSON` (replace the books),
    `warm` (fill the add-ins' indexes), `times` (each book's own time in the searches since the last
    `times`: [book, query, seconds]), `stop`.
    """
    config = DaemonConfig(paths=Paths.from_env(), port=0, region=REGION, opener=_no_browser, registration_wait=1.0)
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()  # runs the app's cleanup contexts: vault, add-ins, books, the search engine
    book_times: list[tuple[str, str, float]] = []
    record_book_times(app, book_times)
    try:
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        config.port = runner.addresses[0][1]
        _emit({"port": config.port, "token": app[appkeys.INSTALL_TOKEN].value})
        loop = asyncio.get_running_loop()
        control = asyncio.StreamReader(limit=2**24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(control), sys.stdin)
        while True:
            command, _, argument = (await control.readline()).decode().strip().partition(" ")
            if command == "books":
                _emit({"books": await configure(app, json.loads(argument))})
            elif command == "warm":
                _emit({"warm": await warm(app)})
            elif command == "times":
                _emit({"times": book_times[:]})
                book_times.clear()
            else:  # "stop", or stdin closed: the parent is gone
                break
    finally:
        await runner.cleanup()


class Daemon:
    """The parent's handle on a daemon child process, registered as an approved application."""

    def __init__(self, label: str, process: asyncio.subprocess.Process, log: Path, hello: dict[str, Any]) -> None:
        self.label = label
        self.process = process
        self.log = log
        self.port = int(hello["port"])
        self.token = str(hello["token"])
        self.base = f"http://{HOST}:{self.port}/api/v1"
        self.app_id = str(uuid.uuid4())
        self.books: list[str] = []

    @property
    def headers(self) -> dict[str, str]:
        return {"ApplicationId": self.app_id}

    @classmethod
    async def start(cls, label: str, home: Path) -> Daemon:
        env = dict(os.environ, PARTNERCRMD_HOME=str(home), PARTNERCRMD_KEYRING="0")
        log = home.with_name(home.name + ".log")
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SCRIPT),
                "--serve",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=env,
                limit=2**24,
            )
        try:
            daemon = cls(label, process, log, await read_json_line(process, within=60))
            await daemon.register()
        except (TimeoutError, ValueError, KeyError, BenchError, aiohttp.ClientError) as exc:
            await end_child(process, 20)
            raise BenchError(f"the daemon did not start ({exc!r}); its log:\n{tail(log)}") from None
        return daemon

    async def register(self) -> None:
        await register(self.base, self.app_id, self.token, "backends benchmark")

    async def _command(self, line: str, within: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        try:
            return await read_json_line(self.process, within)
        except (TimeoutError, BenchError) as exc:
            raise BenchError(f"{self.label}: `{line[:40]}` failed ({exc!r}); its log:\n{tail(self.log)}") from None

    async def configure(self, books: list[dict[str, Any]]) -> list[str]:
        self.books = list((await self._command(f"books {json.dumps(books)}", 120))["books"])
        return self.books

    async def warm(self) -> dict[str, Any]:
        warmed: dict[str, Any] = (await self._command("warm", 900))["warm"]
        return warmed

    async def book_times(self) -> list[tuple[str, str, float]]:
        """Each book's own time in the searches since the last call: (book name, query, seconds)."""
        return [(str(b), str(q), float(t)) for b, q, t in (await self._command("times", 30))["times"]]

    async def stop(self) -> None:
        await end_child(self.process, 20)


def book_spec(backend: Backend) -> dict[str, Any]:
    """The book on `backend`, named after its kind (the per-book times come back by book name)."""
    return {"integration": backend.integration, "name": backend.kind, "settings": backend.settings}


# --- measuring ------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    config: str
    query: Query
    seconds: float
    problems: list[str]
    slowest_book: float = 0.0
    """The longest of the books' own times in this search (the engine's `BookResult.seconds`)."""

    @property
    def overhead(self) -> float:
        """What the daemon added to its slowest book: HTTP, the search request, checking and signing, JSON."""
        return self.seconds - self.slowest_book


@dataclass
class Measurements:
    samples: list[Sample] = field(default_factory=list)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    """CPU seconds used during each daemon's turns, by process ("daemon" and each server's process tree)."""
    requests: dict[str, int] = field(default_factory=dict)
    """How many searches each daemon's turns held (the CPU seconds' divisor)."""
    book_times: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    """Each book's own time inside the searches, by (daemon, book kind, query kind)."""

    def inside(self, config: str, kind: str, query_kind: str) -> list[float]:
        return self.book_times.get((config, kind, query_kind), [])

    def times(self, config: str, kind: str) -> list[float]:
        return [s.seconds for s in self.samples if s.config == config and s.query.kind == kind]

    def wrong(self, config: str, kind: str) -> int:
        return sum(1 for s in self.samples if s.config == config and s.query.kind == kind and s.problems)

    def paired(self, group: str, kind: str) -> list[tuple[float, float]]:
        """(the group's daemon, its slowest single book) per query; each query went to every daemon in one round."""
        by_query: dict[tuple[int, str], dict[str, float]] = {}
        for s in self.samples:
            if s.query.kind == kind:
                by_query.setdefault((id(s.query), s.query.text), {})[s.config] = s.seconds
        books = GROUPS[group]
        return [
            (times[group], max(times[k] for k in books))
            for times in by_query.values()
            if group in times and set(books) <= set(times)
        ]


def answer_problems(body: Any, daemon: Daemon, query: Query) -> list[str]:
    """What is wrong with a Search answer: one collection per book, each with exactly the expected person."""
    if not isinstance(body, list):
        return [f"HTTP error: {str(body)[:200]}"]
    if [c.get("AddinName") for c in body] != daemon.books:
        return [f"collections {[c.get('AddinName') for c in body]} instead of {daemon.books}"]
    problems: list[str] = []
    for collection in body:
        found = [r["DisplayText"] for r in collection["Records"]]
        if collection["ExceptionText"]:
            problems.append(f"{collection['AddinName']}: {collection['ExceptionText'][:200]}")
        elif query.kind == "name" and query.expected not in found:
            problems.append(f"{collection['AddinName']}: {query.text!r} found {found}, not {query.expected}")
        elif query.kind != "name" and found != ([query.expected] if query.expected else []):
            problems.append(f"{collection['AddinName']}: {query.text!r} found {found}")
    return problems


async def timed_search(session: aiohttp.ClientSession, daemon: Daemon, query: Query) -> tuple[float, list[str]]:
    started = time.perf_counter()
    data = {"query": query.text, "timeoutMs": str(SEARCH_TIMEOUT_MS)}
    async with session.post(f"{daemon.base}/Search", data=data, headers=daemon.headers) as response:
        body = await response.json() if response.status == 200 else await response.text()
    return time.perf_counter() - started, answer_problems(body, daemon, query)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants, and by the children it
    reaped (PostgreSQL's backends are the postmaster's children); 0 for a process that is gone."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            own = int(stat.parent.name)
            parents[own] = int(fields[1])
            times[own] = sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
    tree = {pid}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return sum(times.get(p, 0.0) for p in tree)


def server_pids(backend: Backend) -> list[int]:
    """The server's main processes, each counted with its descendants: PostgreSQL's postmaster, the others' started
    with subprocess.Popen; DAViCal's and SOGo's PostgreSQL (and SOGo's memcached) are processes of their own. EDS's
    factories are started by its private bus's dbus-daemon (the session's process), so they are in its tree."""
    process = getattr(backend.server, "process", None)
    pids = [int(process.pid if process is not None else backend.server.pid)]
    database = getattr(backend.server, "database", None)
    if database is not None and getattr(database, "pid", None):
        pids.append(int(database.pid))
    memcached = getattr(getattr(backend.server, "memcached", None), "process", None)
    if memcached is not None:
        pids.append(int(memcached.pid))
    return pids


async def measure(
    daemons: dict[str, Daemon],
    rounds: list[list[Query]],
    servers: dict[str, list[int]] | None = None,
    turn_pause: float = 0.0,
) -> Measurements:
    """Round after round, every daemon in turn gets the round's queries (sequential, one keep-alive connection).

    With `servers` (their main PIDs by kind), the CPU time each daemon's turns cost it and every server is recorded too.
    """
    measured = Measurements()
    sessions = {c: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for c in daemons}

    def snapshot(config: str) -> dict[str, float]:
        pids = {"daemon": [daemons[config].process.pid], **(servers or {})}
        return {name: sum(process_tree_cpu(pid) for pid in main) for name, main in pids.items()}

    try:
        for number, queries in enumerate(rounds):
            order = list(CONFIGS[number % len(CONFIGS) :] + CONFIGS[: number % len(CONFIGS)])
            for config in order:
                before = await asyncio.to_thread(snapshot, config)
                for query in queries:
                    seconds, problems = await timed_search(sessions[config], daemons[config], query)
                    measured.samples.append(Sample(config, query, seconds, problems))
                after = await asyncio.to_thread(snapshot, config)
                kinds = {q.text: q.kind for q in queries}
                slowest: dict[str, float] = {}
                for book, text, seconds in await daemons[config].book_times():
                    measured.book_times.setdefault((config, book, kinds.get(text, "?")), []).append(seconds)
                    slowest[text] = max(slowest.get(text, 0.0), seconds)
                for sample in measured.samples[-len(queries) :]:
                    sample.slowest_book = slowest.get(sample.query.text, 0.0)
                # One daemon's background work (CardDAV's change checks run for up to two seconds after a
                # search) must not land in the next daemon's turn.
                await asyncio.sleep(turn_pause)
                used = measured.cpu.setdefault(config, {})
                for name, value in after.items():
                    used[name] = used.get(name, 0.0) + value - before[name]
                measured.requests[config] = measured.requests.get(config, 0) + len(queries)
            _progress(f"round {number + 1} of {len(rounds)}: done")
    finally:
        for session in sessions.values():
            await session.close()
    return measured


async def http_floor(daemon: Daemon, repeats: int) -> list[float]:
    """`POST Ping` (no search) 100 ms after the previous answer: what any request costs over loopback."""
    times: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for _ in range(repeats):
            await asyncio.sleep(0.1)
            started = time.perf_counter()
            async with session.post(f"{daemon.base}/Ping", data={"Id": "1"}, headers=daemon.headers) as response:
                await response.read()
            times.append(time.perf_counter() - started)
    return times


# --- the run ----------------------------------------------------------------------------------------------------


@dataclass
class Results:
    contacts: int
    quick: bool
    seeding: dict[str, Seeding]
    warm: dict[str, dict[str, Any]]
    measured: Measurements
    floor: list[float]
    versions: dict[str, str]
    load: tuple[float, float]
    seconds: float = 0.0


async def run(contacts: int, quick: bool) -> Results:
    load = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="partnercrmd-backends-bench-"))
    os.environ["PARTNERCRMD_HOME"] = str(root / "unused-home")  # nothing may touch the user's own home
    os.environ["PARTNERCRMD_KEYRING"] = "0"
    data = make_people(contacts)
    per_round = {"number": 6, "unknown": 2, "name": 4} if quick else {"number": 14, "unknown": 10, "name": 10}
    # The queries name only people every server holds (SEED_LIMITS); unknown numbers are unknown to all.
    shared = Dataset(data.people[: min(SEED_LIMITS.get(k, contacts) for k in SERVERS)], data.spare_numbers)
    rounds = make_queries(shared, 2 if quick else 3, per_round)
    backends: dict[str, Backend] = {}
    daemons: dict[str, Daemon] = {}
    try:
        _progress(f"starting and seeding {len(SERVERS)} servers with up to {contacts:,} contacts each (in parallel)")
        backends = await asyncio.to_thread(seed_all, data.people, root)
        for kind in SERVERS:
            seeding: Seeding = backends[kind].extra["seeding"]
            _progress(f"{kind}: {'reused' if seeding.cached else f'{seeding.seconds:.1f} s'}: {seeding.how}")
        versions = server_versions(backends)
        warmed: dict[str, dict[str, Any]] = {}
        for config in CONFIGS:
            daemon = await Daemon.start(config, root / f"daemon-{config.replace(' ', '-')}")
            daemons[config] = daemon
            chosen = list(GROUPS.get(config, (config,)))
            opened = await daemon.configure([book_spec(backends[k]) for k in chosen])
            if len(opened) != len(chosen):
                raise BenchError(f"{config}: only {opened} of {chosen} opened; log:\n{tail(daemon.log)}")
            warmed[config] = await daemon.warm()
            failed = {name: w["error"] for name, w in warmed[config].items() if "error" in w}
            if failed:
                raise BenchError(f"{config}: filling the indexes failed: {failed}")
            _progress(
                f"daemon '{config}': indexes filled in {max(w['seconds'] for w in warmed[config].values()):.1f} s"
            )
        # Warm-up, not counted: connections, sign-ins, the servers' and the daemons' caches. Other people than
        # the measured ones, so that nothing measured was asked before.
        await measure(daemons, make_queries(shared, 1, {"number": 2, "unknown": 1, "name": 2}, seed=SEED + 2))
        pids = {kind: server_pids(backends[kind]) for kind in SERVERS}
        measured = await measure(daemons, rounds, pids, TURN_PAUSE)
        floor = await http_floor(daemons[ALL], 10 if quick else 30)
    finally:
        for daemon in daemons.values():
            await daemon.stop()
        await asyncio.to_thread(close_all, backends.values())
        shutil.rmtree(root, ignore_errors=True)
    seedings = {kind: backends[kind].extra["seeding"] for kind in SERVERS}
    return Results(contacts, quick, seedings, warmed, measured, floor, versions, (load, os.getloadavg()[0]))


def server_versions(backends: dict[str, Backend]) -> dict[str, str]:
    def command(*args: str) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        return "?"

    def dist(name: str) -> str:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(name)
        return "?"

    def deb(package: str) -> str:
        """A Debian package's version, upstream part only (4.17.12+dfsg-0+deb12u1 → 4.17.12)."""
        text = command("dpkg-query", "-W", "-f", "${Version}", package)
        return text.split(":", 1)[-1].split("+", 1)[0].split("-", 1)[0] if text and text != "?" else "?"

    found = {
        "mariadb": lambda: f"MariaDB {deb('mariadb-server')}",
        "samba-ad": lambda: f"Samba {deb('samba')}",
        "rt": lambda: f"RT {deb('request-tracker5')}",
        "davical": lambda: f"DAViCal {deb('davical')}",
        "sogo": lambda: f"SOGo {deb('sogo')}",
        "thunderbird": lambda: f"Thunderbird {deb('thunderbird')}",
        "evolution": lambda: f"EDS {deb('evolution-data-server')}",
    }
    if "carddav" in backends:
        found["carddav"] = lambda: f"Radicale {dist('radicale')}"
    if "ldap" in backends:
        slapd = command("slapd", "-VV")
        found["ldap"] = lambda: "slapd " + (slapd.split("slapd", 1)[1].split()[0] if "slapd" in slapd else "?")
    if "sql" in backends:
        postgres = str(backends["sql"].server.bin / "postgres")
        found["sql"] = lambda: command(postgres, "--version").replace("postgres (PostgreSQL)", "PostgreSQL")
    if "tryton" in backends:
        found["tryton"] = lambda: f"trytond {dist('trytond')}"
    if "bottlecrm" in backends:
        python = str(backends["bottlecrm"].extra["prepared"].python)
        script = "import importlib.metadata as m; print(m.version('django-crm'))"
        found["bottlecrm"] = lambda: "django-crm " + command(python, "-c", script)
    return {kind: found[kind]() for kind in backends}


# --- report ---------------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


KIND_LABELS = {
    "number": "number, known caller",
    "unknown": "number, no one",
    "name": "name",
}


def machine() -> str:
    return run_facts(f"aiohttp {aiohttp.__version__}")


def single_table(results: Results) -> list[str]:
    m = results.measured
    lines = [
        "| Backend (server) | Search | Requests | Median ms | p95 ms | Max ms | Over 1.5 s | Wrong answers |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in SERVERS:
        for query_kind, label in KIND_LABELS.items():
            times = m.times(kind, query_kind)
            lines.append(
                f"| {kind} ({results.versions[kind]}) | {label} | {len(times)} | {ms(statistics.median(times))} "
                f"| {ms(percentile(times, 95))} | {ms(max(times))} | {sum(t > DEFAULT_DEADLINE for t in times)} "
                f"| {m.wrong(kind, query_kind)} |"
            )
    return lines


def slowest_single(results: Results, group: str, kind: str) -> tuple[str, float]:
    medians = {k: statistics.median(results.measured.times(k, kind)) for k in GROUPS[group]}
    slowest = max(medians, key=medians.__getitem__)
    return slowest, medians[slowest]


def all_table(results: Results) -> list[str]:
    m = results.measured
    lines = [
        "| Books in one daemon | Search | Requests | Median ms | p95 ms | Slowest single book | Its median ms "
        "| Its p95 ms | Ratio (medians) | Per query: median of (books ÷ slowest single) | Wrong answers |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for group in GROUPS:
        for kind, label in KIND_LABELS.items():
            times = m.times(group, kind)
            slowest, median = slowest_single(results, group, kind)
            paired = m.paired(group, kind)
            per_query = statistics.median(a / s for a, s in paired) if paired else float("nan")
            lines.append(
                f"| {group} | {label} | {len(times)} | {ms(statistics.median(times))} | {ms(percentile(times, 95))} "
                f"| {slowest} | {ms(median)} | {ms(percentile(m.times(slowest, kind), 95))} "
                f"| {statistics.median(times) / median:.2f} | {per_query:.2f} | {m.wrong(group, kind)} |"
            )
    return lines


def cpu_table(results: Results) -> list[str]:
    m = results.measured
    header = " | ".join(f"{SERVER_LABELS[k]} ms" for k in SERVERS)
    lines = [
        f"| Daemon's books | Searches | Daemon ms | {header} | Total ms per search | Its turns' wall time ms per "
        "search |",
        "|---|---:|---:|" + "---:|" * len(SERVERS) + "---:|---:|",
    ]
    for config in CONFIGS:
        used, count = m.cpu[config], m.requests[config]
        wall = sum(s.seconds for s in m.samples if s.config == config) / count
        cells = " | ".join(f"{used[k] / count * 1000:.1f}" for k in SERVERS)
        lines.append(
            f"| {config} | {count} | {used['daemon'] / count * 1000:.1f} | {cells} "
            f"| {sum(used.values()) / count * 1000:.1f} | {wall * 1000:.1f} |"
        )
    return lines


SERVER_LABELS = {
    "carddav": "Radicale",
    "ldap": "slapd",
    "sql": "PostgreSQL",
    "tryton": "trytond",
    "bottlecrm": "BottleCRM",
    "mariadb": "MariaDB",
    "samba-ad": "Samba",
    "rt": "RT",
    "davical": "DAViCal",
    "sogo": "SOGo",
    "thunderbird": "Thunderbird",
    "evolution": "EDS",
}


def overhead_table(results: Results) -> list[str]:
    lines = [
        "| Daemon's books | Searches | Answer − slowest book: median ms | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    for config in CONFIGS:
        overheads = [s.overhead for s in results.measured.samples if s.config == config]
        lines.append(
            f"| {config} | {len(overheads)} | {ms(statistics.median(overheads))} | {ms(percentile(overheads, 95))} |"
        )
    return lines


def inside_table(results: Results) -> list[str]:
    m = results.measured
    groups = list(GROUPS)
    lines = [
        "| Search | Book | Alone: median ms | p95 ms | "
        + " | ".join(f"In '{g}': median ms | p95 ms" for g in groups)
        + " |",
        "|---|---|" + "---:|---:|" * (1 + len(groups)),
    ]
    for query_kind, label in KIND_LABELS.items():
        for kind in SERVERS:
            cells = []
            for config in (kind, *groups):
                times = m.inside(config, kind, query_kind)
                cells.append(f"{ms(statistics.median(times))} | {ms(percentile(times, 95))}" if times else "- | -")
            lines.append(f"| {label} | {kind} | " + " | ".join(cells) + " |")
    return lines


def seeding_table(results: Results) -> list[str]:
    lines = [
        "| Backend | How the contacts got there | Seconds | Filling the add-in's index through the daemon | Seconds |",
        "|---|---|---:|---|---:|",
    ]
    for kind in SERVERS:
        seeding = results.seeding[kind]
        [warmed] = results.warm[kind].values()
        seconds = "cached" if seeding.cached else f"{seeding.seconds:.1f}"
        lines.append(f"| {kind} | {seeding.how} | {seconds} | {warmed['how']} | {warmed['seconds']:.1f} |")
    return lines


def report(results: Results) -> str:
    floor = results.floor
    run_kind = "`--quick`" if results.quick else "full"
    lines = [
        f"Run: {machine()}; {run_kind} run with {results.contacts:,} contacts per server, {results.seconds:.0f} s; "
        f"load average {results.load[0]:.2f} at the start, {results.load[1]:.2f} at the end.",
        "",
        "**Seeding and index warm-up** (the first run builds the Radicale folder and the Tryton and RT databases; "
        "later runs reuse them from ~/.cache/partnercrmd-bench).",
        "",
        *seeding_table(results),
        "",
        "**Each backend alone** (a daemon with that one book): sequential `POST /api/v1/Search` over loopback, "
        "known numbers typed as +441134960123 or 0044 113 496 0123 (no server stores either form), numbers no one "
        "has, and names (a unique last name, or first and last name).",
        "",
        *single_table(results),
        "",
        f"**All {len(SERVERS)} books at once** (one daemon, one search answered by every book), against the slowest "
        "single book of the same run: the same queries, sent in the same rounds. Also all books but the CardDAV ones "
        "(Radicale, DAViCal, SOGo).",
        "",
        *all_table(results),
        "",
        "**Each book's own time inside the searches**, as the daemon's search engine measures it "
        "(`BookResult.seconds`: from asking the add-in to its checked answer), alone and inside the multi-book "
        "searches: a book that takes longer together than alone was slowed by the others' work on the same CPUs.",
        "",
        *inside_table(results),
        "",
        "**What the daemon adds to its slowest book**, search by search: the HTTP answer's latency minus the longest "
        "of the books' own times in that same search (HTTP over loopback, parsing the request, starting the books' "
        "tasks, checking the answers and the numbers, signing ids, JSON).",
        "",
        *overhead_table(results),
        "",
        "**CPU time per search** during each daemon's turns (user + system, read from /proc for the daemon and "
        "each server's process tree, divided by the turns' searches; background work such as CardDAV's change "
        "checks is included). Every process shares the same "
        f"{os.cpu_count()} CPUs, so a search of all books cannot end before the machine has done the "
        "sum of their work.",
        "",
        *cpu_table(results),
        "",
        f"Loopback HTTP floor: `POST /api/v1/Ping` (no search), {len(floor)} requests 100 ms apart: median "
        f"{ms(statistics.median(floor))} ms, p95 {ms(percentile(floor, 95))} ms.",
    ]
    problems = [s for s in results.measured.samples if s.problems]
    if problems:
        lines += ["", f"Wrong answers ({len(problems)}), the first ones:", ""]
        lines += [f"- {s.config}: {'; '.join(s.problems)[:300]}" for s in problems[:8]]
    return "\n".join(lines)


DEFAULT_SECTION = f"""## Real backends: lookup latency with many contacts

Written by `bench/backends_bench.py` (`python bench/backends_bench.py [--quick] [--write]`): the
integration add-ins against their real servers, each seeded with the same generated contacts, measured
through the daemon; see the script's docstring for how each server is seeded.

{BEGIN_MARK}
{END_MARK}
"""


def write_doc(section: str) -> None:
    """Replace the generated figures in docs/performance.md; append this benchmark's section if it is missing."""
    if not DOC.exists() or BEGIN_MARK not in DOC.read_text(encoding="utf-8"):
        write_section(SECTION_BEGIN, SECTION_END, DEFAULT_SECTION.rstrip("\n"))
    write_section(BEGIN_MARK, END_MARK, section)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CONTACTS:,} contacts and fewer searches")
    parser.add_argument("--contacts", type=int, help=f"contacts per server (default {CONTACTS:,})")
    parser.add_argument("--write", action="store_true", help=f"rewrite the figures in {DOC.relative_to(REPO)}")
    parser.add_argument(
        "--servers",
        help=f"only these servers, separated by commas (default: every one: {','.join(ALL_KINDS)}); not with --write",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:  # a daemon child process
        asyncio.run(serve())
        return 0
    if args.servers:
        if args.write:
            parser.error("--write needs every server (the figures in the document are of all of them)")
        choose([name.strip() for name in args.servers.split(",") if name.strip()])
    contacts = args.contacts or (QUICK_CONTACTS if args.quick else CONTACTS)
    started = time.perf_counter()
    try:
        results = asyncio.run(run(contacts, args.quick))
    except (BenchError, RuntimeError) as exc:  # RuntimeError: a server did not start (the helpers' own words)
        print(f"backends_bench: {exc}", file=sys.stderr)
        return 1
    results.seconds = time.perf_counter() - started
    section = report(results)
    print(section)
    wrong = sum(1 for s in results.measured.samples if s.problems)
    if wrong:
        print(f"backends_bench: {wrong} wrong answers, figures not written", file=sys.stderr)
        return 1
    if args.write:
        write_doc(section)
        print(f"\nwrote {DOC.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
