"""Acceptance (issue #14, item 5): no add-in's secret reaches a file under the home, an API answer or a page.

One real `partnercrmd serve` holds a book of every integration that has a secret setting (CardDAV,
LDAP, SQL, Tryton, BottleCRM and every template of the templates add-in's catalogue: API key, HTTP
Basic, bearer token, OAuth client credentials and authorisation code), plus tests/leaky_addin.py,
which logs its password every way it can; each secret distinctive and made of characters that every
encoding writes its own way. The daemon then meets each add-in's
failure paths, one phase after another, with the books left as they are:

- `down`: nothing listens where the books point;
- `refused`: a server that answers 401 to everything and quotes the whole request back
  (credentials included, see tests/echo_server.py);
- `failing`: the same with 500.

LDAP and SQL books point at a real slapd and a real PostgreSQL with a wrong password (and a twin of
each at a closed port) in every phase. The OAuth templates whose token endpoint is apart from their
API (Salesforce, Dynamics 365, Zoho CRM) get access tokens granted by a second echo server in the
`refused` and `failing` phases, and are then refused by the API: the tokens they obtain at run time
must leak nowhere either (their own token file excepted, see TOKEN_FILE).

In each phase: `POST Search` by number and by name, `GET AddressBooks`, the index refreshes that
follow (BottleCRM's is the one whose log line carried the token), `partnercrmd books test` of every
book and `books list`, every configuration page, each book's page and its Test button. Then every
file under the home (log files, SQLite databases, indexes, the encrypted vault, and the file names),
every answer, page and command output, and the daemon's console are searched for every secret: as
is, percent- and form-encoded, JSON-, HTML- and repr-escaped, in base64 and inside the HTTP Basic
credentials the add-in sends.
"""

from __future__ import annotations

import base64
import html
import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from partnercrmd.addin_host import create_host
from partnercrmd.integration import FieldKind, Integration
from tests import leaky_addin
from tests.backend_servers import Backend, start_ldap, start_sql
from tests.daemon_process import Daemon, Reply, describe, run_cli, wait_until
from tests.echo_server import EchoServer, closed_port
from tests.recording_browser import RecordingBrowser
from tests.ui_support import UI_PAGES, csrf_of

MARK = 'K9/q+Z=&"<x'
"""Ends every secret: '/', '+', '=', '&', '"' and '<' are written differently by each encoding the sweep checks.
What comes before it ("sw33p.<book>.<setting>.") is the same in every encoding but base64: found anywhere, however
the rest was escaped (a URL path keeps '/', '+', '=' and '&' but not '"'), the secret leaked."""
PHASES = ("down", "refused", "failing")
STATUS = {"refused": 401, "failing": 500}
TOKEN_FILE = "oauth-tokens.json"
"""Where the templates add-in keeps the OAuth tokens it obtained (0600, in the book's 0700 folder; see its
auth.py): the one file those run-time tokens may be in. The secrets of the settings may not be there either."""
CARDDAV_HOST_PRESETS = ("carddav-nextcloud", "carddav-sogo", "carddav-davical")
"""The CardDAV presets whose form takes the server's address: swept at the sweep's own servers."""
NOT_SWEPT = {
    "carddav-icloud": "its address is Apple's own server, where a test must not send credentials",
    "carddav-fastmail": "its address is Fastmail's own server",
    "carddav-mailbox-org": "its address is mailbox.org's own server",
    "carddav-google": "saving it is refused (Google's CardDAV needs OAuth), so no secret of it is ever stored",
}
"""Integrations with a secret setting left out of the sweep, and why; the CardDAV presets that build a vendor's
address run the same connector as `carddav` and the host presets, which are swept."""
NUMBER = "+44 20 7946 0958"
NAME = "Whitfield"
SEARCH_TIMEOUT_MS = 15_000
TEMPLATES_DIR_ENV = "PARTNERCRMD_TEMPLATES_DIR"
"""Where the templates add-in looks for the user's own templates (left unset: the catalogue only)."""
TOKEN_URL_SETTINGS = {
    "salesforce": "login_url",
    "dynamics365": "login_url",
    "zoho-crm": "accounts_url",
    "google-contacts": "oauth_url",
}
"""Templates whose OAuth token endpoint has a setting of its own: it points at the server that grants tokens."""


def secret(book: str, key: str, prefix: str = "") -> str:
    return f"{prefix}sw33p.{book}.{key}.{MARK}"


@dataclass(frozen=True)
class SweptBook:
    """One book of the sweep: its integration, settings, and which of them are secrets."""

    type: str
    name: str
    settings: Mapping[str, str]
    secret_keys: tuple[str, ...]
    basic: tuple[str, ...] = ()
    """The "user:password" texts HTTP Basic sends for this book (base64-encoded on the wire)."""

    @property
    def secrets(self) -> dict[str, str]:
        return {key: self.settings[key] for key in self.secret_keys}


def installed_integrations(home: Path) -> list[Integration]:
    """The integrations a daemon under `home` offers (catalogue templates, no user's own)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PARTNERCRMD_HOME", str(home))
        env.delenv(TEMPLATES_DIR_ENV, raising=False)
        return list(create_host().integrations.values())


def has_secret(integration: Integration) -> bool:
    return any(f.secret for f in integration.config)


def template_book(integration: Integration, api: str, tokens: str) -> SweptBook:
    """A book of a template with every secret setting known: addresses at `api` (the token endpoint at `tokens`
    where it has its own setting), other required settings made up (text, whole numbers, choices)."""
    settings: dict[str, str] = {}
    for spec in integration.config:
        if spec.secret:
            prefix = "bcrm_pat_" if integration.id.startswith("bottlecrm") else ""
            settings[spec.key] = secret(integration.id, spec.key, prefix)
        elif spec.kind is FieldKind.URL:
            settings[spec.key] = tokens if TOKEN_URL_SETTINGS.get(integration.id) == spec.key else api
        elif spec.required and spec.kind is FieldKind.TEXT:
            settings[spec.key] = f"{spec.key.replace('_', '-')}-1"
        elif spec.required and spec.kind is FieldKind.INT:
            settings[spec.key] = "1"
        elif spec.required and spec.kind is FieldKind.CHOICE and spec.choices:
            settings[spec.key] = spec.choices[0]
    secret_keys = tuple(f.key for f in integration.config if f.secret)
    basic = basic_credentials(integration, settings)
    return SweptBook(integration.id, f"{integration.id} template sweep", settings, secret_keys, basic)


def basic_credentials(integration: Integration, settings: Mapping[str, str]) -> tuple[str, ...]:
    """The "user:password" HTTP Basic sends for a template's book, as its auth section words them
    (e.g. "{{ settings.email }}/token" and "{{ settings.api_token }}"); none for other kinds of auth."""
    template = yaml.safe_load(Path(str(integration.extra["template_file"])).read_text(encoding="utf-8"))
    auth = template["auth"]
    if auth["type"] != "basic":
        return ()

    def filled(text: str) -> str:
        return re.sub(r"\{\{\s*settings\.(\w+)\s*\}\}", lambda m: settings.get(m.group(1), ""), text)

    return (f"{filled(auth['username'])}:{filled(auth['password'])}",)


def swept_books(
    integrations: Sequence[Integration], api: str, tokens: str, closed: int, ldap: Backend, sql: Backend
) -> list[SweptBook]:
    """A book of every secret-holding integration: HTTP ones at `api` (OAuth token endpoints at `tokens` where
    the template has its own setting for them), LDAP and SQL at real servers with a wrong password, and at `closed`."""
    carddav_password = secret("carddav", "password")
    leaky_password = secret("leaky", "password")
    closed_sql_dsn = re.sub(r"port=\d+", f"port={closed}", sql.settings["dsn"])
    templates = [i for i in integrations if "template_file" in i.extra and has_secret(i)]
    return [
        SweptBook(
            "carddav",
            "CardDAV sweep",
            {"url": f"{api}/dav/", "username": "alice", "password": carddav_password},
            ("password",),
            (f"alice:{carddav_password}",),
        ),
        SweptBook(
            "ldap",
            "LDAP sweep",
            {**ldap.settings, "password": secret("ldap", "password")},
            ("password",),
        ),
        SweptBook(
            "ldap",
            "LDAP down sweep",
            {**ldap.settings, "url": f"ldap://127.0.0.1:{closed}", "password": secret("ldap-down", "password")},
            ("password",),
        ),
        SweptBook("sql", "SQL sweep", {**sql.settings, "password": secret("sql", "password")}, ("password",)),
        SweptBook(
            "sql",
            "SQL down sweep",
            {**sql.settings, "dsn": closed_sql_dsn, "password": secret("sql-down", "password")},
            ("password",),
        ),
        SweptBook(
            "tryton",
            "Tryton sweep",
            {"url": api, "database": "crm", "username": "admin", "password": secret("tryton", "password")},
            ("password",),
        ),
        SweptBook(
            "bottlecrm",
            "BottleCRM sweep",
            {"url": api, "token": secret("bottlecrm", "token", prefix="bcrm_pat_")},
            ("token",),
        ),
        SweptBook("rt", "Request Tracker sweep", {"url": api, "token": secret("rt", "token")}, ("token",)),
        SweptBook(
            "leaky",
            "Leaky sweep",
            {"username": "leaky.user@example.com", "password": leaky_password},
            ("password",),
            (f"leaky.user@example.com:{leaky_password}",),
        ),
        SweptBook(
            "active-directory",
            "Active Directory down sweep",
            {
                "url": f"ldaps://127.0.0.1:{closed}",
                "base_dn": "DC=corp,DC=example,DC=com",
                "bind_dn": "phonebook@corp.example.com",
                "password": secret("active-directory", "password"),
            },
            ("password",),
        ),
        *(
            SweptBook(
                preset,
                f"{preset} down sweep",
                {"dsn": f"mariadb://crm@127.0.0.1:{closed}/crm", "password": secret(preset, "password")},
                ("password",),
            )
            for preset in ("suitecrm-database", "vtiger-database")
        ),
        *(
            SweptBook(
                preset,
                f"{preset} sweep",
                {"host": api, "username": "alice", "password": secret(preset, "password")},
                ("password",),
                (f"alice:{secret(preset, 'password')}",),
            )
            for preset in CARDDAV_HOST_PRESETS
        ),
        *(template_book(integration, api, tokens) for integration in templates),
    ]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def forms_of(value: str, basic: Sequence[str] = ()) -> dict[str, str]:
    """The ways `value` may be written down, by name (the sweep's own list, independent of partnercrmd.redact)."""
    forms = {
        "as is": value,
        "in any escaping (its part before the special characters)": value.split(MARK)[0] if MARK in value else value,
        "percent-encoded": urllib.parse.quote(value, safe=""),
        "form-encoded": urllib.parse.quote_plus(value),
        "JSON-escaped": json.dumps(value)[1:-1],
        "HTML-escaped": html.escape(value),
        "repr-escaped": repr(value)[1:-1],
        "base64": b64(value),
    }
    for pair in basic:
        if value in pair:
            forms[f"in HTTP Basic credentials ({pair.replace(value, '<secret>')})"] = b64(pair)
    return forms


@dataclass
class Needle:
    """One way of writing one secret, and where it may legitimately be."""

    what: str
    text: str
    allowed_files: frozenset[str] = frozenset()


@dataclass
class Evidence:
    """Everything the daemon said in a phase, by where it said it."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, text: str | bytes) -> None:
        self.texts.append((where, text.decode("utf-8", "replace") if isinstance(text, bytes) else text))


def needles_of(books: Sequence[SweptBook], issued: Sequence[str]) -> list[Needle]:
    needles = [
        Needle(f"{book.name} {key} {form}", text)
        for book in books
        for key, value in book.secrets.items()
        for form, text in forms_of(value, book.basic).items()
    ]
    needles += [
        Needle(f"OAuth token {token!r} {form}", text, frozenset({TOKEN_FILE}))
        for token in issued
        for form, text in forms_of(token).items()
    ]
    return needles


def found(needles: Sequence[Needle], where: str, text: str, file_name: str = "") -> list[str]:
    """Each needle in `text`, with a little context."""
    hits = []
    for needle in needles:
        at = text.find(needle.text)
        if at >= 0 and file_name not in needle.allowed_files:
            hits.append(f"{where}: {needle.what}: …{text[max(0, at - 80) : at + len(needle.text) + 40]!r}…")
    return hits


def files_under(home: Path) -> Iterator[Path]:
    return (path for path in sorted(home.rglob("*")) if path.is_file())


def leaks(home: Path, evidence: Evidence, needles: Sequence[Needle]) -> list[str]:
    """Every place a needle was found: files under `home` (contents and names) and the collected texts."""
    hits: list[str] = []
    for path in files_under(home):
        relative = str(path.relative_to(home))
        hits += found(needles, f"file name {relative}", relative)
        # Every needle is ASCII: Latin-1 reads any file (SQLite, the vault, logs) byte for byte.
        hits += found(needles, f"file {relative}", path.read_bytes().decode("latin-1"), path.name)
    for where, text in evidence.texts:
        hits += found(needles, where, text)
    return sorted(set(hits))


# --- the daemon's surfaces -------------------------------------------------------------------------------


class UiBrowser:
    """The configuration pages as a browser sees them: logged in by the link ShowWindow opens, with its cookie."""

    def __init__(self, daemon: Daemon, app_id: str, recorder: RecordingBrowser) -> None:
        self.daemon = daemon
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        link = recorder.login_link(daemon, app_id, "configuration")
        assert self.get(link.split(f":{daemon.port}", 1)[1]).status == 200

    def _send(self, request: urllib.request.Request) -> Reply:
        try:
            with self._opener.open(request, timeout=60) as response:
                return Reply(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as exc:
            try:
                return Reply(exc.code, exc.read(), dict(exc.headers))
            finally:
                exc.close()

    def get(self, path: str) -> Reply:
        return self._send(urllib.request.Request(f"http://127.0.0.1:{self.daemon.port}{path}"))

    def post(self, path: str, fields: Mapping[str, str], *, form_page: str) -> Reply:
        data = urllib.parse.urlencode({"csrf": csrf_of(self.get(form_page).body.decode()), **fields}).encode()
        url = f"http://127.0.0.1:{self.daemon.port}{path}"
        return self._send(urllib.request.Request(url, data=data, method="POST"))


@dataclass
class Sweep:
    """The daemon's home with every swept book, and where the books point."""

    home: Path
    recorder: RecordingBrowser
    env: dict[str, str]
    """The environment of every `partnercrmd` process: the browser stand-in, the leaky add-in's entry point."""
    api_port: int
    token_port: int
    books: list[SweptBook]
    book_ids: dict[str, str]
    issued: list[str] = field(default_factory=list)
    """Every OAuth token the token server granted so far."""


def book_id_from(result: Any) -> str:
    match = re.search(r"\(id ([^,]+), ", result.stdout)
    assert result.returncode == 0 and match, describe(result)
    return match.group(1)


@pytest.fixture(scope="module")
def database_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, Backend]]:
    """A real slapd and a real PostgreSQL, for books that sign in to them with a wrong password."""
    with ExitStack() as stack:
        ldap = start_ldap(tmp_path_factory.mktemp("slapd"))
        stack.callback(ldap.close)
        sql = start_sql()
        stack.callback(sql.close)
        yield ldap, sql


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, database_servers: tuple[Backend, Backend]) -> Sweep:
    base = tmp_path_factory.mktemp("secrets-sweep")
    recorder = RecordingBrowser.create(base)
    home = base / "home"
    api_port, token_port = closed_port(), closed_port()
    api, tokens = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{token_port}"
    books = swept_books(installed_integrations(home), api, tokens, closed_port(), *database_servers)
    env = {**recorder.env, **leaky_addin.entry_point_site(base / "site")}
    book_ids: dict[str, str] = {}
    for book in books:
        pairs = [f"{key}={value}" for key, value in {"name": book.name, **book.settings}.items()]
        args = (arg for pair in pairs for arg in ("--set", pair))
        # --no-check: the sweep's servers are down, refusing or failing on purpose.
        book_ids[book.name] = book_id_from(run_cli(home, "books", "add", book.type, "--no-check", *args, extra_env=env))
    return Sweep(home, recorder, env, api_port, token_port, books, book_ids)


def exercise(sweep: Sweep, evidence: Evidence) -> None:
    """Drive every failure path of every book through the daemon's public surfaces, collecting what it says."""
    daemon = Daemon(sweep.home, extra_env=sweep.env).start()
    try:
        app_id = daemon.register_trusted("Secrets sweep")
        reply = daemon.request("GET", "AddressBooks", app_id=app_id)
        evidence.add("AddressBooks answer", reply.body)
        capabilities = {b["AddinId"]: set(b["Type"]["Capabilities"]) for b in reply.json()}
        for query, capability in ((NUMBER, "SearchByNumber"), (NAME, "SearchByName")):
            fields = {"query": query, "timeoutMs": SEARCH_TIMEOUT_MS}
            reply = daemon.request("POST", "Search", fields, app_id=app_id, timeout=60)
            evidence.add(f"Search {query!r} answer", reply.body)
            assert reply.status == 200, reply
            failed = {c["AddinId"] for c in reply.json() if c["ExceptionText"]}
            # Every book that searches this way fails (a book without name search is not asked a name).
            asked = {book_id for book_id in sweep.book_ids.values() if capability in capabilities[book_id]}
            assert asked <= failed, f"books that did not fail: {reply}"
        # The BottleCRM number index is refreshed in the background after a number search; the audit found its
        # failure logged with the token in it.
        wait_until(
            lambda: "Refreshing the BottleCRM number index failed" in daemon.log_text(),
            timeout=30,
            what="the BottleCRM number index refresh failing",
        )

        browser = UiBrowser(daemon, app_id, sweep.recorder)
        for path in (*UI_PAGES, "/ui/callhistory"):
            evidence.add(f"page {path}", browser.get(path).body)
        for name, book_id in sweep.book_ids.items():
            page = f"/ui/books/{book_id}"
            evidence.add(f"page {page} ({name})", browser.get(page).body)
            tested = browser.post(f"{page}/test", {}, form_page=page)
            assert tested.status == 200, tested
            evidence.add(f"Test on page {page} ({name})", tested.body)

        def cli_test(book_id: str) -> Any:
            return run_cli(sweep.home, "books", "test", book_id, extra_env=sweep.env, timeout=120)

        with ThreadPoolExecutor(max_workers=3) as pool:
            tested_ids = list(sweep.book_ids.values())
            for book_id, result in zip(tested_ids, pool.map(cli_test, tested_ids), strict=True):
                assert result.returncode == 1, describe(result)  # every check of a failure path fails
                evidence.add(f"`partnercrmd books test {book_id}`", result.stdout + result.stderr)
        listed = run_cli(sweep.home, "books", "list", extra_env=sweep.env)
        evidence.add("`partnercrmd books list`", listed.stdout + listed.stderr)
        for query in (NUMBER, NAME):  # again, now that the indexes have tried to fill
            reply = daemon.request("POST", "Search", {"query": query}, app_id=app_id, timeout=60)
            evidence.add(f"second Search {query!r} answer", reply.body)
    finally:
        daemon.close()
        evidence.add("the daemon's console", daemon.output())


@pytest.mark.parametrize("phase", PHASES)
def test_no_secret_reaches_a_file_an_answer_or_a_page(sweep: Sweep, phase: str) -> None:
    evidence = Evidence()
    with ExitStack() as servers:
        if phase in STATUS:
            servers.enter_context(EchoServer(STATUS[phase], port=sweep.api_port))
            grants = servers.enter_context(
                EchoServer(STATUS[phase], port=sweep.token_port, grant_tokens=True, token_prefix=f"{phase}-tok")
            )
            exercise(sweep, evidence)
            sweep.issued += grants.issued
            # Granted in the first of these phases; in the next the books use them from their token files.
            assert sweep.issued, "no OAuth book obtained a token: the run-time tokens were not put to the test"
        else:
            exercise(sweep, evidence)
    hits = leaks(sweep.home, evidence, needles_of(sweep.books, sweep.issued))
    assert not hits, f"{len(hits)} leaks:\n" + "\n".join(hits[:40])


def test_every_integration_with_a_secret_is_swept(sweep: Sweep) -> None:
    """A new add-in with a secret setting must join the sweep (every template with one joins by itself)."""
    with_secrets = {i.id for i in installed_integrations(sweep.home) if has_secret(i)}
    assert with_secrets - {book.type for book in sweep.books} - set(NOT_SWEPT) == set()
