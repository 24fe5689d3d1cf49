"""`partnercrmd books types|list|add|set|remove|test|diagnose`: configured address books, for provisioning by script."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from ..addin_host import AddinHost, create_host
from ..books import (
    BookConfig,
    BookManager,
    Finding,
    SettingsCheckLevel,
    SettingsRefused,
    add_book,
    change_book,
    find_book,
    read_books,
    read_findings,
    redacted_settings,
    remove_book,
)
from ..branding import Branding, load_branding, load_branding_file
from ..catalogue import LOCKED, unlocked_ids, visible_integrations, withheld
from ..errors import SIGN_IN_REQUIRED, ConfigError, PartnerError
from ..integration import BlockingConnector, BookContext
from ..model import CheckResult
from ..paths import Paths
from ..redact import LOG_REDACTOR, book_owner, redact, secret_values
from ..url_credentials import mask_url_passwords
from .common import default_region, key_value_pairs, open_vault, print_table


def _books_branding(args: argparse.Namespace, paths: Paths) -> Branding:
    """The branding `books` commands judge integrations by: --branding FILE, else as `serve` finds it."""
    return load_branding_file(Path(args.branding)) if args.branding else load_branding(paths)


def _book_state(book: BookConfig, host: AddinHost, branding: Branding, doc: dict[str, Any]) -> tuple[str, str]:
    """(state word, why it is not in use or "") of a configured book, as the daemon would open it."""
    integration = host.integration(book.type)
    if integration is None:
        return "unavailable", host.unavailable_reason(book.type)
    reason = withheld(integration, branding, unlocked_ids(doc))
    if reason is not None:
        return ("locked" if reason.status == LOCKED else "not shipped"), reason.message
    return ("enabled" if book.enabled else "disabled"), ""


def _found_state(state: tuple[str, str], finding: Finding | None) -> tuple[str, str]:
    """An enabled book's state with what the daemon last found: "needs attention" or "sign in again", and why."""
    if state[0] != "enabled" or finding is None or finding.ok:
        return state
    return ("sign in again" if finding.error_key == SIGN_IN_REQUIRED else "needs attention"), finding.message


def _show_book(book: BookConfig, host: AddinHost, state: str) -> list[str]:
    settings = redacted_settings(host.integration(book.type), book.settings)
    shown = " ".join(f"{k}={v}" for k, v in settings.items())
    return [str(book.priority), book.id, book.name, book.type, state, shown]


async def _test_book(book: BookConfig, host: AddinHost, paths: Paths, region: str, why_not: str) -> list[CheckResult]:
    """The book's connection test; `why_not` (from `_book_state`) fails it without opening the add-in."""
    integration = host.integration(book.type)
    if integration is None:
        return [CheckResult("integration", False, host.unavailable_reason(book.type), "not_installed")]
    if why_not:  # locked or not shipped: its add-in is not even opened
        return [CheckResult("integration", False, why_not, "unsupported")]
    # This process sets up no log handlers: the add-in's records reach stderr through logging's last resort,
    # which must mask the book's secrets as the daemon's handlers do.
    LOG_REDACTOR.set_secrets(book_owner(book.id), secret_values(integration, book.settings))
    if logging.lastResort is not None:
        logging.lastResort.addFilter(LOG_REDACTOR)
    context = BookContext(book.id, book.name, dict(book.settings), paths.book_dir(book.id), region)
    context.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        connector = await asyncio.to_thread(integration.open, context)
    except PartnerError as exc:
        return [CheckResult("open", False, exc.message, exc.code)]
    except Exception as exc:  # noqa: BLE001  (add-in code: say what happened)
        return [CheckResult("open", False, f"{type(exc).__name__}: {exc}", "unknown")]
    if isinstance(connector, BlockingConnector):
        try:
            return list(await asyncio.to_thread(connector.test))
        finally:
            await asyncio.to_thread(connector.close)
    try:
        return list(await connector.test())
    finally:
        await connector.close()


def _check_level(args: argparse.Namespace) -> SettingsCheckLevel:
    """`books add|set` check the integration's rules always, and try a connection unless --no-check."""
    return SettingsCheckLevel.RULES if args.no_check else SettingsCheckLevel.CONNECT


def _refused(exc: SettingsRefused) -> ConfigError:
    """The refusal as one line for the terminal: each field's message, and how to save without the connection."""
    parts = [exc.message] + [f"{key}: {text}" for key, text in exc.errors.items() if text not in exc.message]
    hint = "" if exc.code == "invalid_settings" else " (--no-check saves them without trying the connection)"
    return ConfigError(f"Nothing was saved: {'; '.join(parts)}{hint}", code=exc.code)


async def _diagnose_book(
    book: BookConfig, host: AddinHost, paths: Paths, doc: dict[str, Any], branding: Branding
) -> dict[str, Any]:
    """The book's diagnostics with the book opened here, as the daemon would open it (the daemon may be stopped)."""
    from ..diagnostics import book_diagnostics

    manager = BookManager(open_vault(paths), host, paths, default_region(doc), branding)
    # This process sets up no log handlers: what the add-in logs reaches stderr through logging's last resort.
    if logging.lastResort is not None:
        logging.lastResort.addFilter(LOG_REDACTOR)
    opened = await manager.open_detached(book)
    try:
        return await book_diagnostics(opened, host)
    finally:
        await manager.close_detached(opened)


def cmd_books(args: argparse.Namespace, paths: Paths) -> int:
    vault = open_vault(paths)
    command = args.books_command
    if command == "remove":
        book = remove_book(vault, args.book, paths)
        print(f"Removed '{book.name}'.")
        return 0
    branding = _books_branding(args, paths)
    host = create_host()
    if command == "types":  # what this user may add: shipped, and Standard or unlocked (as the UI lists them)
        shown = visible_integrations(host, branding, vault.read())
        rows = [[i.id, i.name, i.version, str(i.classification)] for i in shown]
        print_table(rows, ["TYPE", "NAME", "VERSION", "CLASS"])
        return 0
    if command == "list":
        doc = vault.read()
        books = read_books(doc)
        if not books:
            print("No address book is configured.")
            return 0
        findings = read_findings(paths)  # what the daemon's last Test (or a refused search) found
        states = [_found_state(_book_state(b, host, branding, doc), findings.get(b.id)) for b in books]
        rows = [_show_book(b, host, state) for b, (state, _) in zip(books, states, strict=True)]
        print_table(rows, ["PRIO", "ID", "NAME", "TYPE", "STATE", "SETTINGS"])
        for book, (state, why) in zip(books, states, strict=True):
            if why:
                print(f"{book.id} is {state}: {why}")
        return 0
    if command == "add":
        integration = host.integration(args.type)
        if integration is None:
            known = ", ".join(sorted(i.id for i in visible_integrations(host, branding, vault.read()))) or "none"
            raise ConfigError(f"{host.unavailable_reason(args.type)} Types you may add: {known}.")
        given: dict[str, Any] = key_value_pairs(args.set or [])
        if args.name:
            given["name"] = args.name
        try:
            book = add_book(vault, integration, given, branding=branding, check=_check_level(args))
        except SettingsRefused as exc:
            raise _refused(exc) from None
        print(f"Added '{book.name}' (id {book.id}, {book.type}).")
        return 0
    if command == "set":
        if not args.set:
            raise ConfigError("Nothing to change: give --set key=value.")
        try:
            book = change_book(
                vault, host, args.book, key_value_pairs(args.set), branding=branding, check=_check_level(args)
            )
        except SettingsRefused as exc:
            raise _refused(exc) from None
        print(f"Changed '{book.name}'.")
        return 0
    if command == "diagnose":
        doc = vault.read()
        found = asyncio.run(_diagnose_book(find_book(doc, args.book), host, paths, doc, branding))
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    # test
    doc = vault.read()
    book = find_book(doc, args.book)
    _, why_not = _book_state(book, host, branding, doc)
    results = asyncio.run(_test_book(book, host, paths, default_region(doc), why_not))
    integration = host.integration(book.type)
    for result in results:
        message = mask_url_passwords(redact(result.message, integration, book.settings))
        mark = "ok  " if result.ok else "FAIL"
        key = f" [{result.error_key}]" if result.error_key and not result.ok else ""
        print(f"{mark} {result.check}: {message}{key}")
    return 0 if all(r.ok for r in results) else 1


def add_parser(sub: Any) -> None:
    books = sub.add_parser("books", help="configured address books")
    books_sub = books.add_subparsers(dest="books_command", required=True)
    # Which integrations may be used depends on the partner's branding: the same file `serve` was given.
    branded = argparse.ArgumentParser(add_help=False)
    branded.add_argument("--branding", help="the partner's branding file (as PARTNERCRMD_BRANDING does)")
    books_sub.add_parser("list", parents=[branded])
    books_sub.add_parser("types", parents=[branded], help="integrations you may add")
    add = books_sub.add_parser("add", parents=[branded])
    add.add_argument("type", help="integration id, e.g. local (see `books types`)")
    add.add_argument("--name")
    add.add_argument("--set", action="append", metavar="KEY=VALUE")
    change = books_sub.add_parser("set", parents=[branded])
    change.add_argument("book", help="book id or name")
    change.add_argument("--set", action="append", metavar="KEY=VALUE")
    for parser in (add, change):
        parser.add_argument(
            "--no-check",
            action="store_true",
            help="save without trying a connection (the integration's rules are still checked)",
        )
    books_sub.add_parser("test", parents=[branded]).add_argument("book", help="book id or name")
    books_sub.add_parser(
        "diagnose", parents=[branded], help="the book's diagnostics as JSON, secrets masked (for support)"
    ).add_argument("book", help="book id or name")
    books_sub.add_parser("remove").add_argument("book", help="book id or name")
    books.set_defaults(func=cmd_books)
