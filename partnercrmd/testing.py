"""pytest fixtures for partnercrmd and its add-ins (a pytest plugin, registered as `partnercrmd`).

An add-in author's test typically reads::

    async def test_finds_by_number(partnercrmd_addins, api):
        ...  # partnercrmd_addins.append(("myaddin", my_addin_module)) must happen before `api` is created

    @pytest.fixture
    def partnercrmd_addins():
        return [("myaddin", my_addin_module)]

    async def test_search(api, partnercrmd_app):
        book_id = await configure_book(partnercrmd_app, "myaddin", url="http://127.0.0.1:1234")
        collections = await api.call("POST", "Search", query="+44 20 7946 0958")

Fixtures use the real app factory, a real HTTP server on 127.0.0.1 and a
private PARTNERCRMD_HOME; opened URLs are recorded instead of opening a browser.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from . import appkeys
from . import search as search_engine
from .addin_host import DISABLE_ENV as DISABLE_ENV  # re-exported: add-in tests set it before the daemon starts
from .addin_host import AddinHost
from .app import create_app
from .books import add_book, change_book, remove_book
from .call_log.activity_text import render_activity as render_activity  # re-exported: the text of a logged call
from .call_log.live_events import LiveEventPolicy
from .config import DaemonConfig
from .errors import ConfigError
from .integration import Connector, Integration
from .model import Contact, SearchQuery
from .paths import Paths as Paths  # re-exported: the type of the `partnercrmd_home` fixture
from .vault_sync import reload_vault

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


class RecordingOpener:
    """Stands in for the web browser: remembers every URL the daemon opened."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.opened = asyncio.Event()

    async def __call__(self, url: str) -> None:
        self.urls.append(url)
        self.opened.set()


class ApiSession:
    """A registered, approved application talking to the daemon under test."""

    def __init__(self, client: TestClient[web.Request, web.Application], app_id: str) -> None:
        self.client = client
        self.app_id = app_id

    @property
    def headers(self) -> dict[str, str]:
        return {"ApplicationId": self.app_id}

    async def request(self, method: str, route: str, **fields: Any) -> Any:
        """Send fields form-encoded (as the published client does); return the response (status checked by caller)."""
        data = {k: str(v) for k, v in fields.items()} if method == "POST" else None
        return await self.client.request(method, f"/api/v1/{route}", data=data, headers=self.headers)

    async def call(self, method: str, route: str, **fields: Any) -> Any:
        """Like `request`, expecting success: returns the JSON body (None for 204)."""
        response = await self.request(method, route, **fields)
        text = await response.text()
        assert response.status < 300, f"{method} {route} -> {response.status}: {text}"
        return await response.json() if text else None


async def next_event(
    ws: aiohttp.ClientWebSocketResponse,
    kind: str,
    timeout: float = 10.0,  # noqa: ASYNC109  (tests pass a short wait for an event that must not come)
) -> dict[str, Any]:
    """The next event of `kind` on an events WebSocket, skipping others; TimeoutError after `timeout` seconds in all."""
    async with asyncio.timeout(timeout):
        while True:
            event = await ws.receive_json()
            if event["EventType"] == kind:
                return dict(event)


def by_book(collections: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The collections of a `Search` answer by book id (`AddinId`)."""
    return {collection["AddinId"]: collection for collection in collections}


async def search(api: ApiSession, query: str, **fields: Any) -> dict[str, dict[str, Any]]:
    """`POST Search` for `query` (more request fields as keywords: `timeoutMs=1500`, `count=20`): each book's
    collection by book id, so `(await search(api, "ada"))[book_id]` is one book's answer."""
    return by_book(await api.call("POST", "Search", query=query, **fields))


def names(collection: dict[str, Any]) -> list[str]:
    """The `DisplayText` of each record of one book's collection, in order; asserts the book reported no error."""
    assert collection["ExceptionText"] == "", collection["ExceptionText"]
    return [record["DisplayText"] for record in collection["Records"]]


def contact_names(contacts: Iterable[Contact]) -> list[str]:
    """The names of contacts a connector returned (`Contact.name`), sorted: a server promises no order."""
    return sorted(contact.name for contact in contacts)


def action(record: dict[str, Any], kind: str) -> str:
    """The `ActionId` of a record's action of that `SpecialKind` (`Open`, `Edit`, `LogCall`…), for `DoAction`."""
    return str(next(a["ActionId"] for a in record["Actions"] if a["SpecialKind"] == kind))


def write_branding(
    directory: Path,
    *,
    public_key: str = "",
    shipped: Sequence[str] | None = None,
    licensing: Mapping[str, Any] | None = None,
    **product: str,
) -> Path:
    """A partner's branding file `directory/branding.toml` (docs/branding.md); its path.

    `[product]` names "Acme Connect" of "Acme Telecom" unless `name`/`vendor` say otherwise, plus any other
    product key given; `[integrations] shipped`, `[keys] public_key` and `[licensing]` when given.
    """

    def table(name: str, values: Mapping[str, Any]) -> list[str]:
        return [f"[{name}]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]  # JSON: TOML strings

    lines = table("product", {"name": "Acme Connect", "vendor": "Acme Telecom", **product})
    if shipped is not None:
        lines += table("integrations", {"shipped": list(shipped)})
    if public_key:
        lines += table("keys", {"public_key": public_key})
    if licensing:
        lines += table("licensing", licensing)
    path = directory / "branding.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def addin_site(
    site: Path,
    entry_points: Mapping[str, str],
    *,
    distribution: str = "testaddins",
    sources: Mapping[str, str] | None = None,
    also: Sequence[Path] = (),
) -> dict[str, str]:
    """Add-ins installed as pip would install them, for tests that run `partnercrmd` processes.

    Writes `site/DISTRIBUTION-1.0.dist-info` naming each entry point (`{"name": "module"}`) in the
    `partnercrmd.addins` group, and each module's source given in `sources` (`{"module": "source"}`).
    Returns the environment (PYTHONPATH: `site`, then the folders in `also`, then the inherited PYTHONPATH)
    under which a `partnercrmd` process finds them.
    """
    dist_info = site / f"{distribution}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n", "utf-8")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[partnercrmd.addins]\n{lines}", "utf-8")
    for module, source in (sources or {}).items():
        (site / f"{module}.py").write_text(source, encoding="utf-8")
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    return {"PYTHONPATH": os.pathsep.join([str(site), *map(str, also), *inherited])}


def number_query(
    text: str, region: str | None = "GB", limit: int = 5, extension_lengths: Iterable[int] = (3, 4)
) -> SearchQuery:
    """A number search as the daemon sends it to add-ins (region GB and internal extensions of 3 or 4 digits,
    like the test daemon's settings)."""
    return search_engine.number_query(text, region, limit, extension_lengths=tuple(extension_lengths))


async def configure_book(app: web.Application, integration_id: str | Integration, **settings: Any) -> str:
    """Configure an address book in the running app (as `partnercrmd books add` does); returns its id.

    Give the integration's id, or the `Integration` itself for one the running daemon does not know yet (as
    `partnercrmd books add` in another process does, which may find integrations the daemon has not collected).
    """
    if isinstance(integration_id, Integration):
        integration = integration_id
    else:
        known = app[appkeys.HOST].integration(integration_id)
        if known is None:
            raise ConfigError(app[appkeys.HOST].unavailable_reason(integration_id))
        integration = known
    branding = app[appkeys.CONFIG].branding  # a locked or unshipped integration is refused, as in the daemon
    book = await asyncio.to_thread(add_book, app[appkeys.VAULT], integration, settings, branding=branding)
    await reload_vault(app)
    return book.id


async def remove_default_book(app: web.Application) -> None:
    """Drop the embedded local book, for tests that want their own books only."""
    await asyncio.to_thread(remove_book, app[appkeys.VAULT], "local")
    await reload_vault(app)


async def reconfigure_book(app: web.Application, book_id: str, **settings: Any) -> None:
    """Change a configured book's settings or options in the running app (as `partnercrmd books set` does)."""
    branding = app[appkeys.CONFIG].branding
    await asyncio.to_thread(change_book, app[appkeys.VAULT], app[appkeys.HOST], book_id, settings, branding=branding)
    await reload_vault(app)


def book_ids(app: web.Application) -> list[str]:
    """The ids of the books the running daemon has configured (open or not), in priority order."""
    return [book.id for book in app[appkeys.BOOKS].books()]


def daemon_paths(app: web.Application) -> Paths:
    """Where the daemon under test keeps its files (the `partnercrmd_home` fixture's home)."""
    return app[appkeys.CONFIG].paths


async def book_sign_in(app: web.Application, book_id: str) -> dict[str, Any]:
    """A book's OAuth sign-in as the daemon's vault keeps it (access_token, refresh_token, expires_at, account,
    needs_sign_in…; see `partnercrmd.oauth_signin.SignInRecord`), {} when it never signed in."""
    doc = await asyncio.to_thread(app[appkeys.VAULT].read)
    return dict(doc.get("sign_ins", {}).get(book_id) or {})


def set_live_event_policy(app: web.Application, **timings: float) -> None:
    """Change deadlines of live call events (`attempt_seconds`, `window_seconds`, `first_retry_seconds`…).

    Before the daemon starts (in a fixture that overrides `partnercrmd_app`) or while it runs; fields not
    given keep their value.
    """
    if appkeys.CALLS in app:
        live = app[appkeys.CALLS].live
        live.policy = dataclasses.replace(live.policy, **timings)  # type: ignore[arg-type]  # the float fields
    else:
        current = app[appkeys.LIVE_EVENT_POLICY] if appkeys.LIVE_EVENT_POLICY in app else LiveEventPolicy()
        app[appkeys.LIVE_EVENT_POLICY] = dataclasses.replace(current, **timings)  # type: ignore[arg-type]  # as above


def addin_host(app: web.Application) -> AddinHost:
    """The running daemon's add-in host: `.addins` (what loaded, from where, errors) and `.integration(id)`."""
    return app[appkeys.HOST]


def book_connector(app: web.Application, book_id: str) -> Connector | None:
    """The connector the running daemon opened for a book (None when it is unavailable).

    A `BlockingConnector` comes wrapped for the host's worker threads: its `.blocking` is the add-in's own object.
    """
    return app[appkeys.BOOKS].get(book_id).connector


def run_cli(arguments: Sequence[str]) -> int:
    """Run `partnercrmd ARGUMENTS…` in this process (under the `partnercrmd_home` fixture's home); the exit code."""
    from . import cli  # on first use: the command line is not needed by tests that only run the daemon

    return cli.main(list(arguments))


@pytest.fixture
def partnercrmd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A private PARTNERCRMD_HOME; the vault key goes to a key file, never the developer's keyring."""
    home = tmp_path / "partnercrmd-home"
    monkeypatch.setenv("PARTNERCRMD_HOME", str(home))
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    return Paths.from_env()


@pytest.fixture
def partnercrmd_opener() -> RecordingOpener:
    return RecordingOpener()


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    """Add-in objects to register besides the installed ones: override or append before the app starts."""
    return []


@pytest.fixture
def partnercrmd_config(
    partnercrmd_home: Paths, partnercrmd_opener: RecordingOpener, partnercrmd_addins: list[tuple[str, object]]
) -> DaemonConfig:
    return DaemonConfig(
        paths=partnercrmd_home,
        port=0,
        region="GB",
        opener=partnercrmd_opener,
        extra_plugins=partnercrmd_addins,
        registration_wait=1.0,
        vault_poll_interval=0.05,
    )


@pytest.fixture
def partnercrmd_app(partnercrmd_config: DaemonConfig) -> web.Application:
    return create_app(partnercrmd_config)


@pytest.fixture
async def partnercrmd_client(
    aiohttp_client: AiohttpClient, partnercrmd_app: web.Application
) -> TestClient[web.Request, web.Application]:
    """An HTTP client of the running daemon (no application registered)."""
    client = await aiohttp_client(partnercrmd_app)
    assert client.port is not None
    partnercrmd_app[appkeys.CONFIG].port = client.port  # links the daemon builds point at this server
    return client


@pytest.fixture
async def api(partnercrmd_client: TestClient[web.Request, web.Application]) -> AsyncIterator[ApiSession]:
    """An application registered with the install token (approved at once)."""
    app_id = str(uuid.uuid4())
    token = partnercrmd_client.app[appkeys.INSTALL_TOKEN].value
    response = await partnercrmd_client.post(
        "/api/v1/Register", data={"Name": "Test client", "Id": app_id}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 204, await response.text()
    yield ApiSession(partnercrmd_client, app_id)
