"""The `partnercrmd` command: run the daemon, import contacts, approve applications, provision address books."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from . import PRODUCT_NAME, __version__
from .addin_host import AddinHost, create_host
from .apps import AppStatus, read_apps, set_app_status
from .books import (
    DEFAULT_BOOK_ID,
    BookConfig,
    add_book,
    change_book,
    ensure_default_book,
    find_book,
    read_books,
    redacted_settings,
    remove_book,
)
from .branding import Branding, load_branding, load_branding_file
from .catalogue import LOCKED, unlocked_ids, visible_integrations, withheld
from .config import DEFAULT_PORT, DaemonConfig, region_from_locale
from .discovery import NotRunning, new_token, read_discovery
from .errors import BadRequest, ConfigError, NotFound, PartnerError
from .integration import BlockingConnector, BookContext
from .model import CheckResult
from .paths import HOME_ENV, Paths
from .redact import LOG_REDACTOR, book_owner, redact, secret_values
from .settings import SETTINGS, change_settings, read_settings
from .url_credentials import mask_url_passwords
from .vault import Vault


def _vault(paths: Paths) -> Vault:
    """The vault, with the embedded default book configured (as the daemon's first start would)."""
    paths.ensure()
    vault = Vault.open(paths.config_dir)
    ensure_default_book(vault)
    return vault


def key_value_pairs(items: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` arguments (of `--set` and the like) as a dict; ConfigError names a malformed one."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"'{item}' is not key=value.")
        pairs[key.strip()] = value
    return pairs


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _region(paths: Paths, doc: dict[str, Any]) -> str:
    return str(read_settings(doc).get("default_region") or region_from_locale())


# --- commands ----------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, paths: Paths) -> int:
    from .branding import load_branding, load_branding_file
    from .daemon import serve

    if args.home:
        os.environ[HOME_ENV] = args.home  # add-ins and child processes see the same home
        paths = Paths.under(Path(args.home))
    branding = load_branding_file(Path(args.branding)) if args.branding else load_branding(paths)
    serve(DaemonConfig(paths=paths, port=args.port, region=args.region, branding=branding), verbose=args.verbose)
    return 0


def cmd_version(args: argparse.Namespace, paths: Paths) -> int:
    print(f"{_product_name(paths)} {__version__}")
    return 0


def cmd_import(args: argparse.Namespace, paths: Paths) -> int:
    import sqlite3

    from .importers import read_contacts_file
    from .local_book.addin import DATABASE_NAME, INTEGRATION_ID
    from .local_book.store import LocalStore

    path = Path(args.file)
    if not path.is_file():
        raise NotFound(f"No such file: {path}")
    vault = _vault(paths)
    doc = vault.read()
    if args.book:
        book = find_book(doc, args.book)
    else:
        local = [b for b in read_books(doc) if b.type == INTEGRATION_ID]
        if not local:
            raise ConfigError(
                "There is no local address book to import into; add one with `partnercrmd books add local`."
            )
        book = next((b for b in local if b.id == DEFAULT_BOOK_ID), local[0])
    if book.type != INTEGRATION_ID:
        raise ConfigError(f"'{book.name}' is a {book.type} address book; contacts are imported into local ones.")
    contacts = read_contacts_file(path)
    directory = paths.book_dir(book.id)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        store = LocalStore(directory / DATABASE_NAME, _region(paths, doc))
        try:
            report = store.import_contacts(contacts)  # one transaction: on any failure the book stays as it was
        finally:
            store.close()
    except sqlite3.Error as exc:
        raise PartnerError(f"Importing {path.name} into '{book.name}' failed and changed nothing: {exc}") from exc
    print(f"Imported {len(contacts)} contacts from {path.name} into '{book.name}': {report}.")
    return 0


def cmd_apps(args: argparse.Namespace, paths: Paths) -> int:
    vault = _vault(paths)
    if args.apps_command == "list":
        apps = read_apps(vault.read())
        if not apps:
            print("No application has registered yet.")
            return 0
        rows = [[a.name, a.id, str(a.status), a.user_id, a.registered] for a in apps.values()]
        _print_table(rows, ["NAME", "ID", "STATUS", "USER", "REGISTERED"])
        return 0
    if args.apps_command == "rotate-token":
        vault.update(lambda doc: doc.setdefault("install", {}).update(token=new_token()))
        print("The install token was replaced; a running daemon writes the new one to its discovery file at once.")
        return 0
    status = AppStatus.APPROVED if args.apps_command == "approve" else AppStatus.REVOKED
    record = set_app_status(vault, args.id, status)
    print(f"{record.name} ({record.id}) is now {record.status}.")
    return 0


def _host() -> AddinHost:
    return create_host()


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


def cmd_books(args: argparse.Namespace, paths: Paths) -> int:
    vault = _vault(paths)
    command = args.books_command
    if command == "remove":
        book = remove_book(vault, args.book, paths)
        print(f"Removed '{book.name}'.")
        return 0
    branding = _books_branding(args, paths)
    host = _host()
    if command == "types":  # what this user may add: shipped, and Standard or unlocked (as the UI lists them)
        shown = visible_integrations(host, branding, vault.read())
        rows = [[i.id, i.name, i.version, str(i.classification)] for i in shown]
        _print_table(rows, ["TYPE", "NAME", "VERSION", "CLASS"])
        return 0
    if command == "list":
        doc = vault.read()
        books = read_books(doc)
        if not books:
            print("No address book is configured.")
            return 0
        states = [_book_state(b, host, branding, doc) for b in books]
        rows = [_show_book(b, host, state) for b, (state, _) in zip(books, states, strict=True)]
        _print_table(rows, ["PRIO", "ID", "NAME", "TYPE", "STATE", "SETTINGS"])
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
        book = add_book(vault, integration, given, branding=branding)
        print(f"Added '{book.name}' (id {book.id}, {book.type}).")
        return 0
    if command == "set":
        if not args.set:
            raise ConfigError("Nothing to change: give --set key=value.")
        book = change_book(vault, host, args.book, key_value_pairs(args.set), branding=branding)
        print(f"Changed '{book.name}'.")
        return 0
    # test
    doc = vault.read()
    book = find_book(doc, args.book)
    _, why_not = _book_state(book, host, branding, doc)
    results = asyncio.run(_test_book(book, host, paths, _region(paths, doc), why_not))
    integration = host.integration(book.type)
    for result in results:
        message = mask_url_passwords(redact(result.message, integration, book.settings))
        mark = "ok  " if result.ok else "FAIL"
        key = f" [{result.error_key}]" if result.error_key and not result.ok else ""
        print(f"{mark} {result.check}: {message}{key}")
    return 0 if all(r.ok for r in results) else 1


def cmd_vault(args: argparse.Namespace, paths: Paths) -> int:
    vault = _vault(paths)
    if args.vault_command == "rotate-key":
        vault.rotate_key()
        print(f"The vault key was replaced; the new key is kept in: {vault.key_location}.")
    else:
        doc = vault.read()
        print(json.dumps({"file": str(vault.path), "key": vault.key_location, "schema": doc.get("schema")}, indent=2))
    return 0


def cmd_settings(args: argparse.Namespace, paths: Paths) -> int:
    vault = _vault(paths)
    if args.settings_command == "set":
        if not args.pairs:
            raise ConfigError("Nothing to change: give key=value.")
        current = change_settings(vault, key_value_pairs(args.pairs))
        print("Saved. A running daemon applies the deadline and wait at once, the region at its next start.")
    else:
        current = read_settings(vault.read())
    for key, setting in SETTINGS.items():
        shown = current.get(key, "(default)")
        print(f"{key} = {shown}    # {setting.help}")
    return 0


def _post_to_daemon(paths: Paths, route: str, fields: dict[str, str]) -> dict[str, Any]:
    """POST to the running daemon with the install token (the user's own program); its JSON answer."""
    info = read_discovery(paths.discovery_file)
    request = urllib.request.Request(
        f"http://127.0.0.1:{info['port']}/api/v1/{route}",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Authorization": f"Bearer {info['token']}", "Host": f"127.0.0.1:{info['port']}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (loopback, fixed scheme)
            body = response.read()
    except urllib.error.HTTPError as exc:
        try:
            message = str(json.loads(exc.read()).get("Message", exc.reason))
        except ValueError:
            message = str(exc.reason)
        raise BadRequest(message) from None
    except OSError as exc:
        raise NotRunning(f"partnercrmd did not answer on port {info['port']} ({exc}).") from None
    answer: dict[str, Any] = json.loads(body) if body else {}
    return answer


URI_SOURCES = {"tel": "Tel", "callto": "CallTo", "sip": "Sip", "sips": "Sip"}


def cmd_dial(args: argparse.Namespace, paths: Paths) -> int:
    scheme = args.uri.partition(":")[0].lower() if ":" in args.uri else ""
    source = URI_SOURCES.get(scheme, "Api")
    target = _post_to_daemon(paths, "Dial", {"Destination": args.uri[:256], "Source": source})
    print(f"Asked the phone client to dial {target['DisplayNumber']} ({target['Destination']}).")
    return 0


def cmd_handlers(args: argparse.Namespace, paths: Paths) -> int:
    from .dialling import handlers

    dirs = handlers.XdgDirs.from_env()
    if args.handlers_command == "install":
        state = handlers.install(dirs)
        print("tel:, callto: and sip: links now run `partnercrmd dial`.")
    elif args.handlers_command == "uninstall":
        state = handlers.uninstall(dirs)
        print("partnercrmd no longer handles tel:, callto: and sip: links.")
    else:
        state = handlers.status(dirs)
    print("\n".join(handlers.describe(state)))
    return 1 if args.handlers_command == "status" and not state.registered else 0


def cmd_ocr(args: argparse.Namespace, paths: Paths) -> int:
    from .dialling.platform_support import ocr_modules_problem

    problem = ocr_modules_problem()
    if problem:
        raise ConfigError(problem)
    from PIL import Image, UnidentifiedImageError

    from .dialling.screen import numbers_in_image, prefer_single_threaded_tesseract

    path = Path(args.image)
    if not path.is_file():
        raise NotFound(f"No such file: {path}")
    try:
        with Image.open(path) as opened:
            image = opened.copy()
    except (UnidentifiedImageError, OSError):
        raise BadRequest(f"{path.name} is not an image that can be read (PNG, JPEG, BMP, TIFF…).") from None
    prefer_single_threaded_tesseract()
    for found in numbers_in_image(image, (args.region or region_from_locale()).upper()):
        number = found.number
        print(number.e164 + (f";ext={number.extension}" if number.extension else ""))
    return 0


def cmd_service(args: argparse.Namespace, paths: Paths) -> int:
    from . import service

    if args.service_command == "install":
        state = service.install()
    elif args.service_command == "uninstall":
        state = service.uninstall()
    else:
        state = service.status()
    print("\n".join(state.lines))
    return 1 if args.service_command == "status" and not state.installed else 0


def cmd_numbers(args: argparse.Namespace, paths: Paths) -> int:
    from .dialling.detect import find_numbers

    region = (args.region or region_from_locale()).upper()
    for number in find_numbers(sys.stdin.read(), region):
        print(number.e164 + (f";ext={number.extension}" if number.extension else ""))
    return 0


COMMANDS_ENTRY_POINT_GROUP = "partnercrmd.commands"
"""Add-in distributions add CLI commands here: a module (or object) with `add_parser(sub)`, as below."""
COMMAND_MODULES: tuple[str, ...] = ("partner", "viewer", "extension", "licence", "outbox")
"""Command groups in partnercrmd/commands/, each adding itself with `add_parser(sub)`."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="partnercrmd", description="CRM integration daemon for softphones.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the daemon in the foreground")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument("--region", help="default region for numbers without a country code, e.g. GB")
    serve.add_argument("--verbose", action="store_true")
    serve.add_argument("--home", help="keep everything under this directory (as PARTNERCRMD_HOME does)")
    serve.add_argument("--branding", help="the partner's branding file (as PARTNERCRMD_BRANDING does)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("version", help="print the version").set_defaults(func=cmd_version)

    dial = sub.add_parser("dial", help="ask the running daemon to have the phone client dial (tel:, callto:, sip:)")
    dial.add_argument("uri", help="e.g. tel:+442079460958")
    dial.set_defaults(func=cmd_dial)

    handlers = sub.add_parser("handlers", help="make tel:, callto: and sip: links run `partnercrmd dial` (Linux)")
    handlers_sub = handlers.add_subparsers(dest="handlers_command", required=True)
    handlers_sub.add_parser("install", help="register the desktop file and make it the default (again: no change)")
    handlers_sub.add_parser("uninstall", help="remove it and give the links back to their previous handlers")
    handlers_sub.add_parser("status", help="show the registration (exit 1 unless partnercrmd handles all three)")
    handlers.set_defaults(func=cmd_handlers)

    service = sub.add_parser("service", help="start the daemon when you log in (systemd/XDG autostart, macOS, Windows)")
    service_sub = service.add_subparsers(dest="service_command", required=True)
    service_sub.add_parser("install", help="write and enable the per-user service (again: no change)")
    service_sub.add_parser("uninstall", help="stop it and remove what install wrote")
    service_sub.add_parser("status", help="show what is installed (exit 1 if nothing)")
    service.set_defaults(func=cmd_service)

    numbers = sub.add_parser("numbers", help="print every phone number found in the text on standard input (E.164)")
    numbers.add_argument("--region", help="region for numbers without a country code, e.g. GB")
    numbers.set_defaults(func=cmd_numbers)

    ocr = sub.add_parser("ocr", help="print every phone number read (OCR) in an image file, as E.164")
    ocr.add_argument("image", help="a screenshot or any image (PNG, JPEG…)")
    ocr.add_argument("--region", help="region for numbers without a country code, e.g. GB")
    ocr.set_defaults(func=cmd_ocr)

    imp = sub.add_parser("import", help="import a vCard (2.1, 3.0, 4.0) or Outlook/Google CSV file")
    imp.add_argument("file")
    imp.add_argument("--book", help="local address book to import into (default: the embedded one)")
    imp.set_defaults(func=cmd_import)

    apps = sub.add_parser("apps", help="applications allowed to use the API")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True)
    apps_sub.add_parser("list")
    apps_sub.add_parser(
        "rotate-token", help="replace the install token of api.json (applications already approved stay)"
    )
    for name in ("approve", "revoke"):
        p = apps_sub.add_parser(name)
        p.add_argument("id", help="application id (or name)")
    apps.set_defaults(func=cmd_apps)

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
    books_sub.add_parser("test", parents=[branded]).add_argument("book", help="book id or name")
    books_sub.add_parser("remove").add_argument("book", help="book id or name")
    books.set_defaults(func=cmd_books)

    settings = sub.add_parser("settings", help="daemon-wide settings (default region, deadlines)")
    settings_sub = settings.add_subparsers(dest="settings_command", required=True)
    settings_sub.add_parser("show")
    settings_sub.add_parser("set").add_argument("pairs", nargs="*", metavar="KEY=VALUE")
    settings.set_defaults(func=cmd_settings)

    vault = sub.add_parser("vault", help="the encrypted vault")
    vault_sub = vault.add_subparsers(dest="vault_command", required=True)
    vault_sub.add_parser("rotate-key")
    vault_sub.add_parser("info")
    vault.set_defaults(func=cmd_vault)

    for module in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.commands.{module}").add_parser(sub)
    for entry_point in entry_points(group=COMMANDS_ENTRY_POINT_GROUP):
        try:
            entry_point.load().add_parser(sub)
        except Exception as exc:  # noqa: BLE001  (an add-in's broken command must not take the CLI down)
            print(f"partnercrmd: the add-in command '{entry_point.name}' failed to load: {exc}", file=sys.stderr)
    return parser


def _product_name(paths: Paths) -> str:
    """The product's name as the user knows it: the partner's branding, else partnercrmd."""
    from .branding import load_branding

    try:
        return load_branding(paths).product_name
    except PartnerError:
        return PRODUCT_NAME  # a broken branding file is reported by `serve`; messages still need a name


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = Paths.from_env()
    try:
        return int(args.func(args, paths))
    except PartnerError as exc:
        printable = "".join(c if c.isprintable() else "?" for c in exc.message)  # file text must not drive the terminal
        print(f"{_product_name(paths)}: {printable}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
