"""`partnercrmd template …`: validate, try (a dry-run trace), authorize (OAuth), import-3cx.

Added by the `partnercrmd_cli_commands` hook in `__init__`; each subcommand returns the exit code
(0 good, 1 the template or the call failed, 2 bad usage via the CLI's PartnerError handling).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from partnercrmd.sdk import (
    Activity,
    BookContext,
    CallDirection,
    CallEvent,
    CallState,
    ConfigError,
    Contact,
    PartnerError,
    Paths,
    Phone,
    PhoneKind,
    SearchQuery,
    number_forms,
    phone_key,
)
from partnercrmd.sdk.cli import Subcommands, find_configured_book, key_value_pairs, open_page, store_sign_in

from .client import Trace
from .connector import TemplateBook, TemplateSource
from .loader import LoadedTemplate, TemplateError, load_file

NEEDS = {
    "lookup": ("number", "--number"),
    "search": ("text", "--text"),
    "get": ("id", "--id"),
    "pop": ("id", "--id"),
    "activities": ("id", "--id"),
    "log_call": ("id", "--id"),
}
OPERATIONS = ("lookup", "search", "get", "pop", "activities", "log_call", "create_contact", "call_event")
TRY_STATES = ("Ringing", "Answered", "Held", "Resumed", "Ended")
"""The states `--op call_event` tells, as one inbound call from --phone (to --id, the matched record, if given)."""


def add_parser(sub: Subcommands) -> None:
    template = sub.add_parser("template", help="declarative REST integrations: validate, try, authorize, import-3cx")
    template_sub = template.add_subparsers(dest="template_command", required=True)

    validate = template_sub.add_parser("validate", help="check template files against the schema (line and field)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=cmd_validate)

    trial = template_sub.add_parser("try", help="run one operation of a template and trace each request (dry run)")
    trial.add_argument("file", metavar="FILE", help="a template file, or the id of an installed template")
    trial.add_argument("--op", required=True, choices=OPERATIONS)
    trial.add_argument("--number", help="lookup: the phone number")
    trial.add_argument("--text", help="search: the text")
    trial.add_argument("--id", help="get, pop, activities, log_call: the record id; call_event: the matched record")
    trial.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting of the template")
    trial.add_argument("--region", default="GB", help="region for numbers without a country code (default GB)")
    trial.add_argument("--first-name", default="Ada")
    trial.add_argument("--last-name", default="Lovelace")
    trial.add_argument("--phone", default="+44 20 7946 0000")
    trial.add_argument(
        "--send", action="store_true", help="log_call, create_contact, call_event: really send (otherwise only shown)"
    )
    trial.set_defaults(func=cmd_try)

    authorize = template_sub.add_parser(
        "authorize", help="sign a book of an OAuth 2 template in (browser, loopback redirect on 127.0.0.1)"
    )
    authorize.add_argument("book", help="book id or name")
    authorize.add_argument("--no-browser", action="store_true", help="only print the address to open")
    authorize.set_defaults(func=cmd_authorize)

    convert = template_sub.add_parser("import-3cx", help="convert a 3CX CRM template (XML) into a partnercrmd template")
    convert.add_argument("file", metavar="FILE.xml")
    convert.add_argument("-o", "--output", help="where to write the YAML (default: standard output)")
    convert.set_defaults(func=cmd_import_3cx)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() or c == "\n" else "?" for c in text)


def cmd_validate(args: argparse.Namespace, paths: Paths) -> int:
    failed = 0
    for name in args.files:
        try:
            loaded = load_file(Path(name))
        except TemplateError as exc:
            failed += 1
            for problem in exc.problems:
                print(_printable(problem), file=sys.stderr)
            continue
        ops = ", ".join(loaded.data["operations"])
        print(f"{name}: ok ({loaded.id} {loaded.data['version']}: {ops})")
    return 1 if failed else 0


def _typed(loaded: LoadedTemplate, given: dict[str, Any]) -> dict[str, Any]:
    kinds = {p["key"]: p.get("type", "text") for p in loaded.data.get("parameters", [])}
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in kinds:
            raise ConfigError(f"The template has no parameter '{key}' (it has: {', '.join(kinds) or 'none'}).")
        if kinds[key] == "int":
            try:
                out[key] = int(value)
            except ValueError:
                raise ConfigError(f"'{key}' must be a whole number.") from None
        elif kinds[key] == "bool":
            out[key] = str(value).lower() in ("1", "true", "yes", "on")
        else:
            out[key] = value
    return out


def _template_path(name: str) -> Path:
    """A template file, or the file of an installed template given by its id."""
    path = Path(name)
    if path.exists() or "/" in name or name.endswith((".yaml", ".yml")):
        return path
    from . import discover

    for integration in discover().integrations:
        if integration.id == name and "template_file" in integration.extra:
            return Path(integration.extra["template_file"])
    raise ConfigError(f"There is no template file or installed template '{name}'.")


def cmd_try(args: argparse.Namespace, paths: Paths) -> int:
    path = _template_path(args.file)
    try:
        loaded = load_file(path)
    except TemplateError as exc:
        for problem in exc.problems:
            print(_printable(problem), file=sys.stderr)
        return 1
    settings = _typed(loaded, key_value_pairs(args.set))
    needed = NEEDS.get(args.op)
    if needed and not getattr(args, needed[0]):
        raise ConfigError(f"--op {args.op} needs {needed[1]}.")
    trace = Trace()
    with tempfile.TemporaryDirectory(prefix="partnercrmd-template-try-") as data_dir:
        context = BookContext("try", "try", settings, Path(data_dir), args.region.upper())
        book = TemplateBook(context, TemplateSource(path, loaded), trace=trace)
        book.send_writes = args.send
        try:
            outcome = asyncio.run(_run(book, args))
            code = 0
        except PartnerError as exc:
            outcome = f"FAILED: {book.client.mask(exc.message)}"
            code = 1
    _print_trace(trace)
    print(_printable(outcome))
    return code


async def _run(book: TemplateBook, args: argparse.Namespace) -> str:
    try:
        return await _operation(book, args)
    finally:
        await book.close()


def _need(value: str | None, option: str, op: str) -> str:
    if not value:
        raise ConfigError(f"--op {op} needs {option}.")
    return value


async def _operation(book: TemplateBook, args: argparse.Namespace) -> str:
    op = args.op
    if op == "lookup":
        number = _need(args.number, "--number", op)
        key = phone_key(number, book.region)
        query = SearchQuery(number, 10, number=key.e164 or key.digits, number_forms=number_forms(key, book.region))
        return _contacts(await book.search(query))
    if op == "search":
        return _contacts(await book.search(SearchQuery(_need(args.text, "--text", op), 10)))
    if op == "get":
        found = await book.get(_need(args.id, "--id", op))
        return _contacts([found] if found else [])
    if op == "pop":
        record = _need(args.id, "--id", op)
        return f"view: {await book.record_url(record, False)}\nedit: {await book.record_url(record, True)}"
    if op == "activities":
        rows = await book.activities(_need(args.id, "--id", op), 10)
        return "\n".join(f"{a.start_utc:%Y-%m-%d %H:%M} {a.direction} {a.subject}" for a in rows) or "(no activities)"
    if op == "log_call":
        start = datetime.now(UTC).replace(microsecond=0)
        body = f"Direction: Inbound\nCaller: {args.phone}\nCalled: +44 20 7946 0001\nDuration: 1:05"
        activity = Activity(f"Incoming call: {args.phone} -> +44 20 7946 0001", body, CallDirection.INBOUND, start, 65)
        new_id = await book.log_activity(_need(args.id, "--id", op), activity)
        return f"logged: {new_id}" if args.send else "(not sent: give --send to log the call)"
    if op == "call_event":
        return await _call_events(book, args)
    contact = Contact(
        first_name=args.first_name, last_name=args.last_name, phones=[Phone(args.phone, PhoneKind.BUSINESS)]
    )
    created = await book.create(contact)
    return _contacts([created]) if args.send else "(not sent: give --send to create the contact)"


async def _call_events(book: TemplateBook, args: argparse.Namespace) -> str:
    """One inbound call from --phone, Ringing to Ended, through `call_event` (a dry run without --send)."""
    start = datetime.now(UTC).replace(microsecond=0)
    key = phone_key(args.phone, book.region)
    for state in TRY_STATES:
        event = CallEvent(
            call_id=f"try-{int(start.timestamp())}",
            state=CallState(state),
            direction=CallDirection.INBOUND,
            time=datetime.now(UTC),
            caller_number=args.phone,
            caller_name=f"{args.first_name} {args.last_name}",
            called_number="+44 20 7946 0001",
            other_number=args.phone,
            other_number_e164=key.e164 or "",
            contact_id=args.id or "",
            contact_name=f"{args.first_name} {args.last_name}" if args.id else "",
            started=start,
            duration_seconds=65 if state == "Ended" else 0,
        )
        await book.call_event(event)
    told = ", ".join(TRY_STATES)
    return f"told: {told}" if args.send else f"(not sent: give --send to tell the CRM {told})"


def _contacts(contacts: Sequence[Contact]) -> str:
    if not contacts:
        return "no records"
    lines = [f"{len(contacts)} record(s):"]
    for c in contacts:
        phones = ", ".join(f"{p.kind}={p.number}" for p in c.phones)
        lines.append(f"  {c.id}: {c.name} | {c.company} | {phones} | {', '.join(c.emails)}")
    return "\n".join(lines)


def _print_trace(trace: Trace) -> None:
    for number, entry in enumerate(trace.entries, 1):
        print(f"--> request {number}: {entry.method} {entry.url}")
        for name, value in entry.headers.items():
            print(f"    {name}: {value}")
        if entry.body:
            print("    " + entry.body.replace("\n", "\n    "))
        if entry.status is not None:
            print(f"<-- {entry.status}")
            if entry.answer:
                print("    " + entry.answer.replace("\n", "\n    "))
        if entry.note:
            print(f"    ({entry.note})")
    for line in trace.mappings:
        print(f"mapped: {_printable(line)}")


def cmd_authorize(args: argparse.Namespace, paths: Paths) -> int:
    from . import discover
    from .auth import Tokens, authorize
    from .client import HttpClient
    from .settings import settings_with_defaults
    from .signin import sign_in_for

    book = find_configured_book(paths, args.book)
    integration = next((i for i in discover().integrations if i.id == book.type), None)
    if integration is None or "template_file" not in integration.extra:
        raise ConfigError(f"The book '{book.name}' is not a book of a template integration.")
    loaded = load_file(Path(integration.extra["template_file"]))
    if loaded.data["auth"]["type"] != "oauth2_authorization_code":
        raise ConfigError(f"The template '{loaded.id}' does not sign in with OAuth 2 authorisation code.")
    settings = settings_with_defaults(loaded.data, book.settings)
    declared = sign_in_for(loaded)
    spec = declared(settings) if declared is not None else None
    if spec is None or not spec.client_id:
        raise ConfigError(
            f"'{book.name}' signs in with this product's own app: use Sign in with {loaded.data['name']} on the "
            "address book's page, or give your own app's client id in its settings ('client_id')."
        )
    data_dir = paths.book_dir(book.id)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def show(url: str) -> None:
        print(f"Open this address to sign in:\n{url}", flush=True)
        if not args.no_browser:
            open_page(url)

    async def run() -> Tokens:
        client = HttpClient(str(loaded.data["name"]), url_setting="url", retries=0, max_wait=0, mask=lambda t: t)
        try:
            return await authorize(loaded.data["auth"], {"settings": settings}, data_dir, client, show)
        finally:
            await client.close()

    tokens = asyncio.run(run())
    store_sign_in(
        paths,
        book.id,
        refresh_token=tokens.refresh_token,
        access_token=tokens.access_token,
        expires_at=tokens.expires_at,
        client_id=spec.client_id,
    )
    print(f"'{book.name}' is signed in; the tokens are kept in the encrypted vault.")
    return 0


def cmd_import_3cx(args: argparse.Namespace, paths: Paths) -> int:
    from .threecx import convert_file

    result = convert_file(Path(args.file))
    for note in result.notes:
        print(f"not converted: {note}", file=sys.stderr)
    if args.output:
        Path(args.output).write_text(result.yaml_text, encoding="utf-8")
        print(f"Wrote {args.output} ({len(result.notes)} part(s) not converted).")
    else:
        sys.stdout.write(result.yaml_text)
    return 0
