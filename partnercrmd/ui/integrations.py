"""The Integrations page: configured address books (add, configure, enable, reorder, test, remove),
the integrations the user may add, and the unlock-code form for Controlled integrations."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import socket
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from markupsafe import escape

from .. import appkeys
from ..books import (
    IntegrationWithheld,
    OpenBook,
    SettingError,
    SettingsCheckLevel,
    SettingsRefused,
    add_book,
    change_book,
    find_book,
    read_books,
    remove_book,
)
from ..catalogue import unlocked_ids, visible_integrations
from ..diagnostics import book_diagnostics
from ..errors import SIGN_IN_REQUIRED, ConfigError, NotFound, PartnerError
from ..integration import Capability, FieldKind, Integration
from ..model import CheckResult
from ..redact import redact
from ..unlock import redeem_code
from ..url_credentials import mask_url_passwords
from ..vault import Vault
from ..vault_sync import reload_vault
from .book_forms import form_fields, read_book_form
from .call_options import book_capabilities, calls_form, check_call_options, read_call_options
from .common import (
    branded_text,
    branding_of,
    checked_form,
    guide_link,
    page,
    render,
    render_text,
    secure,
    see_other,
    session_csrf,
)
from .signin import sign_in_view

TEST_TIME_LIMIT = 20.0
"""Seconds a whole Test may take, shown to the user before it starts; a step still running then fails (timeout)."""
REACH_TIMEOUT = 5.0
"""Seconds the connection to each server address of the settings may take (within the whole Test's limit)."""
STEPS_MARK = "<!--test-steps-->"
"""Where the Test page's steps go: the page before it is sent at once, each step as it ends, the rest last."""
FIXES = {
    "cannot_connect": "Check the server address, and that the server is running and reachable from this computer.",
    "invalid_auth": "Check the user name and password (or app password), then save and test again.",
    "not_found": "Check the address or the address-book setting: the server has nothing there.",
    "timeout": "The server took too long to answer: try again, or check the network and the server's load.",
    "invalid_data": "The server's answer was not what this integration expects: check that the address "
    "points at the right service.",
    "not_installed": "Install the add-in for this integration again, or remove this address book.",
    "disabled": "Enable the address book (Integrations page or the Enabled box below), then test it.",
    "unsupported": "This address book cannot do that with its current settings.",
    SIGN_IN_REQUIRED: "Sign in again with the Sign in button on this address book's page, then test again.",
    "unknown": "Something unexpected happened: check the settings, and the log for details.",
}
"""Plain-words fixes by the stable error keys of `CheckResult.error_key`."""
CAPABILITY_LABELS = {
    Capability.SEARCH_NUMBER: "Caller lookup",
    Capability.SEARCH_NAME: "Search by name",
    Capability.POP: "Open record",
    Capability.POP_EDIT: "Open in edit mode",
    Capability.LOG_ACTIVITY: "Log calls",
    Capability.SHOW_ACTIVITIES: "Show activities",
    Capability.CREATE_CONTACT: "Create contacts",
    Capability.UPDATE_CONTACT: "Update contacts",
    Capability.PICTURES: "Pictures",
    Capability.CALL_EVENTS: "Live call events",
}


def capability_labels(integration: Integration) -> list[str]:
    return [label for cap, label in CAPABILITY_LABELS.items() if cap in integration.capabilities]


def book_state(book: OpenBook) -> tuple[str, str]:
    """(status in words, why) of a book as the pages show it (`OpenBook.status`); why is "" when nothing to explain."""
    return book.status_words, book.status_reason


def setting_errors(exc: ConfigError) -> dict[str, str]:
    """The messages to show beside the refused settings' inputs, when the error names them."""
    if isinstance(exc, SettingsRefused):
        return exc.errors
    return {exc.key: exc.message} if isinstance(exc, SettingError) else {}


SAVE_ANYWAY = "save_anyway"
"""The button a form shows after a failed quick connection: save with the integration's rules checked only."""


def check_level(form: Mapping[str, Any]) -> SettingsCheckLevel:
    """How far a posted add or edit form's settings are checked: no connection once the user chose Save anyway."""
    return SettingsCheckLevel.RULES if str(form.get(SAVE_ANYWAY, "")) == "1" else SettingsCheckLevel.CONNECT


def offers_save_anyway(exc: ConfigError) -> bool:
    """Whether the refusal came from the quick connection (Save anyway helps), not from the rules (it would not)."""
    return isinstance(exc, SettingsRefused) and exc.code != "invalid_settings"


def fix_for(result: CheckResult) -> str:
    if result.ok:
        return ""
    return FIXES.get(result.error_key or "unknown", FIXES["unknown"])


async def _doc(request: web.Request) -> dict[str, Any]:
    return await asyncio.to_thread(request.app[appkeys.VAULT].read)


async def _apply(request: web.Request) -> None:

    await reload_vault(request.app)


def _integration_row(request: web.Request, integration: Integration) -> dict[str, Any]:
    host = request.app[appkeys.HOST]
    provider = host.provider(integration.id)
    return {
        "integration": integration,
        "capabilities": capability_labels(integration),
        "guide": guide_link(branding_of(request.app), integration.guide_url),
        "addin_version": provider.version if provider else "",
    }


async def _integrations_page(
    request: web.Request, *, message: str = "", error: str = "", code_text: str = "", status: int = 200
) -> web.StreamResponse:
    app = request.app
    doc = await _doc(request)
    branding = branding_of(app)
    visible = visible_integrations(app[appkeys.HOST], branding, doc)
    unlocked = unlocked_ids(doc)
    books = [
        {
            "book": b,
            "integration_name": b.integration.name if b.integration else b.config.type,
            "state": book_state(b)[0],
            "error": book_state(b)[1],
        }
        for b in app[appkeys.BOOKS].books()
    ]
    context = {
        "books": books,
        "integrations": [_integration_row(request, i) for i in visible],
        "unlocked": [i for i in visible if i.id in unlocked],
        "message": message or _notice(request.query),
        "error": error,
        "code_text": code_text,
        "has_partner_key": branding.public_key is not None,
    }
    return render(request, "ui_integrations.html", context, current="integrations", status=status)


def _notice(query: Mapping[str, str]) -> str:
    notices = {
        "added": "The address book was added. Run Test to check its connection.",
        "saved": "Saved.",
        "removed": "The address book was removed.",
        "moved": "The order was changed: results now come in this order.",
        "unlocked": "Unlocked; the integrations are listed below and can be added now.",
    }
    return next((text for key, text in notices.items() if key in query), "")


@page
async def integrations_page(request: web.Request) -> web.StreamResponse:
    return await _integrations_page(request)


def _visible_integration(request: web.Request, doc: Mapping[str, Any], integration_id: str) -> Integration:
    for integration in visible_integrations(request.app[appkeys.HOST], branding_of(request.app), doc):
        if integration.id == integration_id:
            return integration
    raise NotFound(f"There is no integration '{integration_id[:40]}' to add.", code="unknown_integration")


async def _add_form(
    request: web.Request,
    integration: Integration,
    posted: Mapping[str, Any] | None = None,
    error: str = "",
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    save_anyway: bool = False,
) -> web.StreamResponse:
    posted = posted or {}
    context = {
        "integration": _integration_row(request, integration),
        "fields": form_fields(integration, {}, posted, editing=False, errors=errors),
        "name": posted.get("name", ""),
        "priority": posted.get("priority", ""),
        "error": error,
        "secret_retype": error and any(f.secret for f in integration.config),
        "save_anyway": save_anyway,
    }
    return render(request, "ui_book_add.html", context, current="integrations", status=status)


@page
async def add_form(request: web.Request) -> web.StreamResponse:
    doc = await _doc(request)
    integration = _visible_integration(request, doc, request.match_info["integration"])
    return await _add_form(request, integration)


@page
async def add_submit(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    app = request.app
    integration_id = request.match_info["integration"]
    # Any installed integration: add_book itself refuses a locked or unshipped one (posted without its form).
    integration = app[appkeys.HOST].integration(integration_id)
    if integration is None:
        raise NotFound(f"There is no integration '{integration_id[:40]}' to add.", code="unknown_integration")
    given, shown = read_book_form(integration, form, editing=False)
    try:
        book = await asyncio.to_thread(
            add_book, app[appkeys.VAULT], integration, given, branding=branding_of(app), check=check_level(form)
        )
    except IntegrationWithheld:
        raise  # an error page saying why: a hidden integration's form is not shown
    except ConfigError as exc:
        errors = setting_errors(exc)
        return await _add_form(
            request, integration, shown, exc.message, 400, errors, save_anyway=offers_save_anyway(exc)
        )
    await _apply(request)
    raise see_other(f"/ui/books/{book.id}?added=1")


def _open_book(request: web.Request) -> OpenBook:
    return request.app[appkeys.BOOKS].get(request.match_info["book"][:128])


async def _book_page(
    request: web.Request,
    book: OpenBook,
    *,
    posted: Mapping[str, Any] | None = None,
    error: str = "",
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    save_anyway: bool = False,
) -> web.StreamResponse:
    # A withheld (locked, unshipped) integration's settings form is not offered: change_book refuses it anyway.
    integration = book.integration if book.withheld is None else None
    posted = posted or {}
    notice = "The address book was added. Run Test to check its connection." if "added" in request.query else ""
    state, why = book_state(book)
    context = {
        "book": book,
        "state": state,
        "state_error": why,
        "integration": _integration_row(request, integration) if integration else None,
        "fields": form_fields(integration, book.config.settings, posted, editing=True, errors=errors)
        if integration
        else [],
        "name": posted.get("name", book.config.name),
        "priority": posted.get("priority", book.config.priority),
        "enabled": posted.get("enabled", book.config.enabled),
        "calls": calls_form(book, posted),
        "error": error,
        "message": "Saved." if "saved" in request.query else notice,
        "save_anyway": save_anyway,
        "test_limit": f"{TEST_TIME_LIMIT:g}",
        "signin": await sign_in_view(request.app, book),
    }
    return render(request, "ui_book.html", context, current="integrations", status=status)


@page
async def book_page(request: web.Request) -> web.StreamResponse:
    return await _book_page(request, _open_book(request))


@page
async def book_save(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    book = _open_book(request)
    if book.integration is None:
        raise ConfigError(book.error or "The integration of this address book is not installed.")
    given, shown = read_book_form(book.integration, form, editing=True)
    calls = read_call_options(form, book_capabilities(book))
    given.update(calls)
    shown.update(calls)
    app = request.app
    try:
        check_call_options(calls)
        await asyncio.to_thread(
            change_book,
            app[appkeys.VAULT],
            app[appkeys.HOST],
            book.id,
            given,
            branding=branding_of(app),
            check=check_level(form),
        )
    except ConfigError as exc:
        return await _book_page(
            request,
            book,
            posted=shown,
            error=exc.message,
            status=400,
            errors=setting_errors(exc),
            save_anyway=offers_save_anyway(exc),
        )
    await _apply(request)
    raise see_other(f"/ui/books/{book.id}?saved=1")


@dataclass(frozen=True)
class CheckStep:
    """One line of the Test page: a step starting (`result` None) or its outcome."""

    check: str
    detail: str
    result: CheckResult | None = None


def server_addresses(book: OpenBook) -> list[tuple[str, int]]:
    """(host, port) of each server address among the book's settings, to try a connection to before the add-in's
    checks; none when a proxy is set up (the add-in goes through it: a direct connection proves nothing)."""
    if book.integration is None or urllib.request.getproxies():
        return []
    found: list[tuple[str, int]] = []
    for spec in book.integration.config:
        value = book.config.settings.get(spec.key)
        if spec.kind is not FieldKind.URL or not isinstance(value, str) or not value:
            continue
        try:
            parts = urlsplit(value)
            address = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        except ValueError:
            continue
        if address[0] and address not in found:
            found.append(address)
    return found


async def _reach(host: str, port: int, limit: float) -> CheckResult:
    """Whether a TCP connection to host:port opens within `limit` seconds."""
    check = f"Connect to {host}:{port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit)
    except TimeoutError:
        return CheckResult(check, False, f"Nothing answered at {host}:{port} within {limit:g} s.", "cannot_connect")
    except ConnectionRefusedError:
        return CheckResult(
            check, False, f"{host}:{port} refused the connection: nothing listens there.", "cannot_connect"
        )
    except socket.gaierror:
        return CheckResult(check, False, f"The server name {host} is not known (DNS).", "cannot_connect")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return CheckResult(check, False, f"{host}:{port} cannot be reached ({reason}).", "cannot_connect")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return CheckResult(check, True, f"{host}:{port} accepted the connection.")


async def check_steps(book: OpenBook, limit: float | None = None) -> AsyncIterator[CheckStep]:
    """The book's connection test, step by step as each starts and ends, all within `limit` s (default
    `TEST_TIME_LIMIT`); never raises.

    The host's own steps come first (the book opened, each server address reachable), so the user sees
    progress at once even while the integration's own checks wait for a server that does not answer.
    """
    limit = TEST_TIME_LIMIT if limit is None else limit
    deadline = time.monotonic() + limit
    opened = "Open the address book"
    if book.withheld is not None:
        yield CheckStep(opened, "", CheckResult(opened, False, book.withheld.message, "unsupported"))
        return
    if not book.config.enabled:
        yield CheckStep(opened, "", CheckResult(opened, False, "This address book is disabled.", "disabled"))
        return
    if book.connector is None:
        key = "not_installed" if book.integration is None else "cannot_connect"
        failure = CheckResult(opened, False, book.error or "The address book could not be opened.", key)
        yield CheckStep(opened, "", failure)
        return
    yield CheckStep(opened, "", CheckResult(opened, True, "The address book is open."))
    reached: list[str] = []
    for host, port in await asyncio.to_thread(server_addresses, book):  # proxy settings: the registry on Windows
        step = f"Connect to {host}:{port}"
        yield CheckStep(step, f"Connecting to {host}:{port}…")
        result = await _reach(host, port, max(0.1, min(REACH_TIMEOUT, deadline - time.monotonic())))
        yield CheckStep(step, "", result)
        if result.ok:
            reached.append(f"{host}:{port}")
    checks = "The integration's checks"
    left = max(0.1, deadline - time.monotonic())
    asking = f"Asking the server (sign-in, searching, what this address book can do)… up to {left:.0f} s."
    yield CheckStep(checks, asking)
    try:
        results = list(await asyncio.wait_for(book.connector.test(), left))
    except TimeoutError:
        where = f" ({', '.join(reached)} accepted the connection but sent no answer)" if reached else ""
        text = f"The server did not answer within the test's limit of {limit:g} s{where}."
        results = [CheckResult(checks, False, text, "timeout")]
    except PartnerError as exc:
        results = [CheckResult(checks, False, exc.message, exc.code)]
    except Exception as exc:  # noqa: BLE001  (add-in code: say what happened)
        results = [CheckResult(checks, False, f"{type(exc).__name__}: {exc}", "unknown")]
    for result in results:
        yield CheckStep(result.check, "", result)


async def run_test(book: OpenBook, limit: float | None = None) -> list[CheckResult]:
    """The book's connection test: each step's outcome (see `check_steps`); never raises."""
    return [step.result async for step in check_steps(book, limit) if step.result is not None]


def _shown_result(book: OpenBook, result: CheckResult) -> CheckResult:
    """A step's outcome as the user may see it: the book's secrets and passwords in addresses masked."""
    message = mask_url_passwords(redact(result.message, book.integration, book.config.settings))[:1000]
    return CheckResult(result.check, result.ok, message, result.error_key)


def _step_row(request: web.Request, step: CheckStep) -> str:
    """One row of the Test page's table: a step running, or its outcome with what to do."""
    branded = functools.partial(branded_text, branding_of(request.app))
    if step.result is None:
        return (
            f'<tr class="running"><td>{escape(step.check)}</td><td>Running…</td>'
            f"<td>{escape(branded(step.detail))}</td><td></td></tr>\n"
        )
    result = step.result
    outcome = "passed" if result.ok else "failed"
    return (
        f'<tr class="{outcome}"><td>{escape(result.check)}</td><td>{outcome.capitalize()}</td>'
        f"<td>{escape(branded(result.message))}</td><td>{escape(fix_for(result))}</td></tr>\n"
    )


@page
async def book_test(request: web.Request) -> web.StreamResponse:
    """Test the book, sending each step to the browser as it ends (a chunked page: no script needed), then the
    verdict and the book's status, which becomes what Test found (`BookManager.record_test`)."""
    await checked_form(request)
    book = _open_book(request)
    context = {"book": book, "limit": f"{TEST_TIME_LIMIT:g}"}
    head, _, _ = render_text(request, "ui_book_test.html", context, current="integrations").partition(STEPS_MARK)
    response = secure(web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"}))
    response.enable_chunked_encoding()
    await response.prepare(request)
    browser_left = False

    async def send(text: str) -> None:
        nonlocal browser_left
        if browser_left:
            return
        try:
            await response.write(text.encode("utf-8"))
        except ConnectionResetError:  # the user left the page: Test still ends, and its verdict is kept
            browser_left = True

    await send(head)
    results: list[CheckResult] = []
    async for step in check_steps(book):
        if step.result is not None:
            shown = _shown_result(book, step.result)
            step = CheckStep(step.check, step.detail, shown)
            results.append(shown)
        await send(_step_row(request, step))
    books = request.app[appkeys.BOOKS]
    await books.record_test(book, results)
    book = next((b for b in books.books() if b.id == book.id), book)  # re-opened meanwhile, or removed
    state, why = book_state(book)
    verdict = {**context, "book": book, "passed": all(r.ok for r in results), "state": state, "state_error": why}
    await send(render_text(request, "ui_book_test.html", verdict, current="integrations").partition(STEPS_MARK)[2])
    if not browser_left:
        await response.write_eof()
    return response


@page
async def book_diagnostics_download(request: web.Request) -> web.StreamResponse:
    """The book's diagnostics (see `partnercrmd.diagnostics`) as a JSON file to save and send to support."""
    session_csrf(request)  # Forbidden without the page session: a GET carries no form token to check
    book = _open_book(request)
    found = await book_diagnostics(book, request.app[appkeys.HOST])
    response = web.Response(
        text=json.dumps(found, indent=2, ensure_ascii=False),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="partnercrmd-diagnostics-{book.id}.json"'},
    )
    secure(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def move_book(vault: Vault, book_id: str, step: int) -> None:
    """Swap a book with its neighbour in priority order (step -1: up, +1: down); blocks on the vault."""

    def change(doc: dict[str, Any]) -> None:
        books = read_books(doc)
        ids = [b.id for b in books]
        if book_id not in ids:
            find_book(doc, book_id)  # raises NotFound with the names
        i = ids.index(book_id)
        j = i + step
        if not 0 <= j < len(books):
            return
        priorities = [b.priority for b in books]
        books[i], books[j] = books[j], books[i]
        distinct = all(a < b for a, b in itertools.pairwise(priorities))
        new = priorities if distinct else [10 * (n + 1) for n in range(len(books))]
        for book, priority in zip(books, new, strict=True):
            if doc["books"][book.id].get("priority") != priority:
                doc["books"][book.id]["priority"] = priority

    vault.update(change)


@page
async def book_move(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    step = {"up": -1, "down": 1}.get(str(form.get("direction", "")))
    if step is None:
        raise ConfigError("Choose up or down.")
    await asyncio.to_thread(move_book, request.app[appkeys.VAULT], _open_book(request).id, step)
    await _apply(request)
    raise see_other("/ui/integrations?moved=1#books")


@page
async def book_enable(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    book = _open_book(request)
    enabled = str(form.get("enabled", "")) == "1"
    app = request.app
    await asyncio.to_thread(
        change_book, app[appkeys.VAULT], app[appkeys.HOST], book.id, {"enabled": enabled}, branding=branding_of(app)
    )
    await _apply(request)
    raise see_other("/ui/integrations?saved=1#books")


@page
async def book_remove(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    book = _open_book(request)
    if form.get("confirm") != "1":
        return await _book_page(
            request, book, error="Tick the box to confirm that the address book should be removed.", status=400
        )
    app = request.app
    await asyncio.to_thread(remove_book, app[appkeys.VAULT], book.id, app[appkeys.CONFIG].paths)
    await _apply(request)
    raise see_other("/ui/integrations?removed=1")


@page
async def unlock_submit(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    text = str(form.get("code", ""))[:8192]
    app = request.app
    try:
        await asyncio.to_thread(redeem_code, app[appkeys.VAULT], app[appkeys.HOST], branding_of(app), text)
    except PartnerError as exc:
        return await _integrations_page(request, error=exc.message, code_text=text.strip(), status=400)
    await _apply(request)  # books of the integrations just unlocked open now, not at the next vault poll
    raise see_other("/ui/integrations?unlocked=1#add")


async def root(request: web.Request) -> web.StreamResponse:
    """The daemon's bare address (what a newcomer types): the configuration pages, which say how to log in."""
    raise see_other("/ui/configuration")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/ui/integrations", integrations_page)
    app.router.add_get("/ui/integrations/{integration}/add", add_form)
    app.router.add_post("/ui/integrations/{integration}/add", add_submit)
    app.router.add_post("/ui/unlock", unlock_submit)
    app.router.add_get("/ui/books/{book}", book_page)
    app.router.add_post("/ui/books/{book}", book_save)
    app.router.add_post("/ui/books/{book}/test", book_test)
    app.router.add_get("/ui/books/{book}/diagnostics", book_diagnostics_download)
    app.router.add_post("/ui/books/{book}/move", book_move)
    app.router.add_post("/ui/books/{book}/enabled", book_enable)
    app.router.add_post("/ui/books/{book}/remove", book_remove)
