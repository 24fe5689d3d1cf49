"""The routes of /api/v1: one table drives registration, field checks and the OpenAPI document."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import appkeys
from ..addin_host import AddinInfo
from ..api_shapes import contact_record, draft_record
from ..books import OpenBook
from ..call_log.call_event_route import CALL_EVENT_PARAMS, call_event
from ..catalogue import integration_json, visible_integrations
from ..dialling.service import REQUEST_SOURCES, DialSource
from ..draft_records import Draft, draft_id, draft_of
from ..errors import BadRequest, NotFound, Unsupported
from ..extension_pairing import pair_extension
from ..integration import Capability
from ..licensing.requests import request_user_id, require_licence
from ..model import CallInfo, Contact, ContactPatch, PhoneKind
from ..opener import NoBrowser
from ..pages import WINDOWS, window_login_url
from ..search import SearchRequest
from ..ui_sessions import LOGIN_TTL
from .call_fields import CALL_DETAIL_PARAMS, DIRECTIONS, call_from_fields
from .json_responses import json_response
from .middleware import local_port
from .openapi import openapi_document
from .params import Param, Route, parse_params, read_body
from .version_info import version_object
from .websocket import events_handler

TELEPHONY_ROUTES = (
    "MakeCall", "Hangup", "Answer", "Hold", "Unhold", "Resume", "Transfer", "BlindTransfer",
    "ConsultTransfer", "Conference", "SendDtmf", "Calls", "GetCalls", "Lines", "Devices", "Presence", "SetPresence",
    "TransferComplete", "TransferConsult", "TransferCancel", "TransferBlind", "Deflect", "Pickup", "HookState",
    "OwnerContact", "RecordSuspend", "RecordResume", "Unload", "SearchPeers",
)  # fmt: skip
LEGACY_FEATURES = (
    "LegacyCursorFeature",
    "LegacySearchFeature",
    "LegacyActionFeature",
    "LegacyActivityFeatureCreate",
    "LegacyActivityFeatureShow",
)
"""`AddressBook.Type` fields of the published client's type that only a legacy add-in of the other product sets."""
APP_ID_PATTERN = re.compile(r"^[A-Za-z0-9._{}-]{1,128}$")


# --- handlers --------------------------------------------------------------------------------------


async def version(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
    return json_response(await version_object(request.app, request_user_id(request)))


async def ping(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    return json_response({"Id": fields["Id"]})


def bearer_token(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else ""


async def register(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    app_id = fields["Id"]
    if not APP_ID_PATTERN.match(app_id):
        raise BadRequest("Id must be 1-128 letters, digits, '-', '_', '.' or braces (a GUID).", code="invalid_field")
    token = bearer_token(request)
    trusted = request.app[appkeys.INSTALL_TOKEN].matches(token)
    user_id = fields["UserId"] or request_user_id(request, registered=False)
    wait = request.app[appkeys.CONFIG].registration_wait
    await request.app[appkeys.APPS].register(app_id, fields["Name"], user_id, trusted=trusted, wait=wait)
    return web.Response(status=204)


async def search(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    text = fields["query"].strip()
    if not text:
        raise BadRequest("The field 'query' is empty.", code="missing_field")
    await require_licence(request)
    config = request.app[appkeys.CONFIG]
    deadline = fields["timeoutMs"] / 1000 if fields["timeoutMs"] else config.search_deadline
    search_request = SearchRequest(
        text=text,
        count=fields["count"],
        offset=fields["offset"],
        include_pictures=fields["includePictures"],
        include_activities=fields["includeActivities"],
        deadline=deadline,
    )
    results = await request.app[appkeys.SEARCH].search(search_request)
    signer = request.app[appkeys.SIGNER]
    collections = []
    for result in results:
        caps = result.book.capabilities if result.book.integration else frozenset()
        records = [
            contact_record(
                signer,
                result.book.id,
                contact,
                caps,
                include_picture=search_request.include_pictures,
                activities=result.activities.get(contact.id) if search_request.include_activities else None,
            )
            for contact in result.contacts
        ]
        collections.append(
            {
                "AddinId": result.book.id,
                "AddinName": result.book.name,
                "Records": records,
                "ExceptionText": result.error,
            }
        )
    return json_response(collections)


def address_book_json(book: OpenBook, provider: AddinInfo | None = None) -> dict[str, Any]:
    """One `AddressBook`; `provider` is the add-in of its integration (its distribution is `AssemblyLocation`)."""
    integration = book.integration
    caps = book.capabilities
    config = book.config
    return {
        "Priority": config.priority,
        "CrmAddinTypeId": config.type,
        "AddinId": config.id,
        "Cached": config.cached,
        "Enabled": book.enabled,  # False for a locked or unshipped integration's book, whatever was saved
        "Name": config.name,
        "CacheFrequencyMinutes": config.cache_minutes,
        "IsPersistent": True,
        "Description": config.description or (integration.description if integration else ""),
        "HasModifyFeature": Capability.UPDATE_CONTACT in caps or Capability.CREATE_CONTACT in caps,
        "HasCursorFeature": Capability.SEARCH_NAME in caps,
        "HasSearchFeature": Capability.SEARCH_NAME in caps or Capability.SEARCH_NUMBER in caps,
        "HasActivityActionFeatureCreate": Capability.LOG_ACTIVITY in caps,
        "HasActivityActionFeatureShow": Capability.SHOW_ACTIVITIES in caps,
        "HasActionFeatureShow": True,
        "ShowActivityOnCall": config.show_activity_on_call,
        "CreateActivityOnCallEnd": config.create_activity_on_call_end,
        "AutoPopOption": str(config.auto_pop),
        "LiveCallEvents": config.call_events and Capability.CALL_EVENTS in caps,  # told each state of a call
        "Type": {
            "AddinTypeId": config.type,
            "TypeFullName": integration.name if integration else config.type,
            "Version": integration.version if integration else "",
            "Classification": str(integration.classification) if integration else "",
            "Capabilities": sorted(str(c) for c in caps),
            "GuideUrl": integration.guide_url if integration else "",
            # The published client's type has these; true to partnercrmd: add-ins are Python distributions,
            # none is a legacy one (so no Legacy*Feature), none is the other product's hosted Cloud Contacts,
            # and a book whose integration is not installed is unrecognized.
            "AssemblyLocation": provider.distribution if provider else "",
            "IsLegacy": False,
            "IsUnrecognized": integration is None,
            "IsCloudContacts": False,
            **dict.fromkeys(LEGACY_FEATURES, False),
        },
        # Ready, NeedsAttention, SignInAgain, Disabled, Unavailable, or why it is withheld: Locked, NotShipped
        "Status": str(book.status),
        "StatusReason": book.status_reason,
        "ExceptionText": "" if book.connector else (book.error or ""),
    }


async def address_books(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
    host = request.app[appkeys.HOST]
    books = request.app[appkeys.BOOKS].books()
    return json_response([address_book_json(b, host.provider(b.config.type)) for b in books])


def record_types_of(book: OpenBook) -> list[dict[str, Any]]:
    if book.integration is None:
        return []
    caps = book.capabilities
    return [
        {
            "RelatedRecordTypes": [],
            "HasEmail": True,
            "HasFirstNameLastName": True,
            "AddinId": book.id,
            "HasContactName": True,
            "HasCompanyName": True,
            "HasNotes": True,
            "CanShowInEditMode": Capability.POP_EDIT in caps,
            "CanCreate": Capability.CREATE_CONTACT in caps,
            "UniqueId": f"{book.id}/{name}",
            "RecordTypeId": f"{book.id}/{name}",
            "Name": name,
            "IsResidential": False,
        }
        for name in book.integration.record_types
    ]


async def record_types(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
    return json_response([rt for b in request.app[appkeys.BOOKS].enabled() for rt in record_types_of(b)])


CONTACT_PARAMS = (
    Param("Phone", max_length=64),
    Param("ContactName"),
    Param("FirstName"),
    Param("LastName"),
    Param("CompanyName"),
    Param("Email", max_length=320),
    Param("Notes", max_length=10_000),
)


def contact_patch(fields: dict[str, Any]) -> ContactPatch:
    return ContactPatch(
        display_name=fields["ContactName"],
        first_name=fields["FirstName"],
        last_name=fields["LastName"],
        company=fields["CompanyName"],
        email=fields["Email"],
        phone=fields["Phone"],
        notes=fields["Notes"],
    )


def writable_book(request: web.Request, book_id: str, capability: Capability) -> OpenBook:
    book: OpenBook = request.app[appkeys.BOOKS].get(book_id)
    if book.connector is None or book.integration is None:
        raise NotFound(book.error or "The address book is unavailable.", code="book_unavailable")
    if capability not in book.capabilities:
        what = {Capability.CREATE_CONTACT: "create contacts", Capability.UPDATE_CONTACT: "change contacts"}
        raise Unsupported(
            f"The address book '{book.name}' cannot {what.get(capability, str(capability))} with its settings."
        )
    return book


def record_type_of(book: OpenBook, record_type: str) -> str:
    """`record_type` when the book has it; NotFound (unknown_type) otherwise."""
    assert book.integration is not None
    if record_type not in book.integration.record_types:
        raise NotFound(f"The address book '{book.name}' has no record type '{record_type[:40]}'.", code="unknown_type")
    return record_type


async def create_contact(request: web.Request, book: OpenBook, record_type: str, patch: ContactPatch) -> Contact:
    """Create a contact of `record_type` with `patch`'s fields in `book` (CreateNewRecord, or a draft's first save)."""
    assert book.connector is not None
    contact = patch.apply_to(Contact(record_type=record_type))
    for phone in contact.phones:
        phone.kind = PhoneKind.BUSINESS
    created = await book.connector.create(contact)
    request.app[appkeys.SEARCH].cache.invalidate(book.id)
    return created


async def create_new_record(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    book_id, _, record_type = fields["RecordTypeId"].partition("/")
    book = writable_book(request, book_id, Capability.CREATE_CONTACT)
    record_type = record_type_of(book, record_type)
    patch = contact_patch(fields)
    signer = request.app[appkeys.SIGNER]
    if patch.is_empty():  # the published client's whole request: a new, empty record that SaveRecord fills
        return json_response(draft_record(draft_id(signer, book.id, record_type), record_type))
    created = await create_contact(request, book, record_type, patch)
    return json_response(contact_record(signer, book.id, created, book.capabilities))


async def save_record(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    signer = request.app[appkeys.SIGNER]
    payload = signer.verify("record", fields["RecordId"], what="record id")
    draft = draft_of(payload)
    if draft is not None:
        return await save_draft(request, draft, contact_patch(fields))
    book = writable_book(request, str(payload.get("b")), Capability.UPDATE_CONTACT)
    assert book.integration is not None and book.connector is not None
    patch = contact_patch(fields)
    if patch.is_empty():
        raise BadRequest("Nothing to save: give at least one field to change.")
    saved = await book.connector.update(str(payload.get("c")), patch)
    request.app[appkeys.SEARCH].cache.invalidate(book.id)
    return json_response(contact_record(signer, book.id, saved, book.capabilities))


async def save_draft(request: web.Request, draft: Draft, patch: ContactPatch) -> web.StreamResponse:
    """SaveRecord of a draft: its first save creates the contact, a later one changes the contact it created."""
    book = writable_book(request, draft.book_id, Capability.CREATE_CONTACT)
    assert book.connector is not None
    connector = book.connector
    record_type = record_type_of(book, draft.record_type)
    if patch.is_empty():
        raise BadRequest("Give at least one of Phone, ContactName, FirstName, LastName, CompanyName, Email, Notes.")
    contact: Contact | None = None

    async def create() -> str:
        nonlocal contact
        contact = await create_contact(request, book, record_type, patch)
        return contact.id

    async def change(contact_id: str) -> None:
        nonlocal contact
        if Capability.UPDATE_CONTACT in book.capabilities:
            contact = await connector.update(contact_id, patch)
            request.app[appkeys.SEARCH].cache.invalidate(book.id)
        else:  # saved again where contacts cannot be changed: the contact as it was created
            contact = await connector.get(contact_id)
        if contact is None:
            raise NotFound("The contact created from this new record no longer exists.", code="unknown_record")

    await request.app[appkeys.DRAFTS].save(draft, create, change)
    assert contact is not None
    return json_response(contact_record(request.app[appkeys.SIGNER], book.id, contact, book.capabilities))


CALL_PARAMS = (Param("CallId", max_length=128), Param("Direction", enum=DIRECTIONS), *CALL_DETAIL_PARAMS)


def call_info(fields: dict[str, Any]) -> CallInfo | None:
    """The call described by the request, or None when it describes none."""
    if not (fields["Direction"] or fields["CallerNumber"] or fields["CalledNumber"]):
        return None
    return call_from_fields(fields, fields["CallId"] or "")


async def do_action(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    await require_licence(request)
    done = await request.app[appkeys.ACTIONS].do(fields["actionId"], call_info(fields))
    # 204 as the published API answers; a LogActivity without call fields says what it did (a 2xx with a body,
    # which that client reads as success too).
    return web.Response(status=204) if done is None else json_response(done)


async def show_window(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    """A one-time login address of the window: opened in the browser (`OpenBrowser`), and given to the caller,
    which may show it in its own web view (`CanShowUrl`); an error only when neither can show the window."""
    if not fields["OpenBrowser"] and not fields["CanShowUrl"]:
        raise BadRequest(
            "Nothing would show the window: set OpenBrowser or CanShowUrl (or both, the default).",
            code="invalid_field",
        )
    url = window_login_url(request.app, fields["window"].lower())
    opened = await request.app[appkeys.CONFIG].opener(url) is not False if fields["OpenBrowser"] else False
    if not opened and not fields["CanShowUrl"]:
        request.app[appkeys.UI].discard_login(url.rpartition("/")[2].partition("?")[0])
        raise NoBrowser(
            "No web browser could be opened on this computer (is a desktop session running?). "
            "Ask again with CanShowUrl=true to show the window's address yourself."
        )
    return json_response({"Url": url, "Opened": opened, "ExpiresInSeconds": int(LOGIN_TTL)})


async def dial(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    source = DialSource(next(s for s in REQUEST_SOURCES if s.lower() == fields["Source"].lower()))
    client = request.headers.get("ApplicationId") or "install-token"
    target = request.app[appkeys.DIAL].request(fields["Destination"], source, client)
    return json_response(target.event())


async def screen_read(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    if (fields["X"] is None) != (fields["Y"] is None):
        raise BadRequest("Give both X and Y, or neither (the pointer's position).", code="invalid_field")
    numbers = await request.app[appkeys.SCREEN_READER].read(fields["X"], fields["Y"])
    targets = request.app[appkeys.DIAL].offer([n.number for n in numbers], DialSource.SCREEN_READ)
    return json_response([target.event() for target in targets])


async def integrations(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
    host = request.app[appkeys.HOST]
    doc = await asyncio.to_thread(request.app[appkeys.VAULT].read)
    shown = visible_integrations(host, request.app[appkeys.CONFIG].branding, doc)
    return json_response([integration_json(i, host) for i in shown])


async def openapi_json(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
    server = f"{request.scheme}://127.0.0.1:{local_port(request)}"
    return json_response(openapi_document(ROUTES, request.app[appkeys.CONFIG].branding.product_name, server))


ROUTES: tuple[Route, ...] = (
    Route("GET", "Version", version, "Product, version and licences.", response="Version"),
    Route("POST", "Ping", ping, "Echo an id.", (Param("Id", required=True),), response="Ping"),
    Route(
        "POST",
        "Register",
        register,
        "Register an application; waits for the user's approval (immediate with the install token as Bearer).",
        (
            Param("Name", required=True, max_length=128),
            Param("Id", required=True, max_length=128),
            Param("UserId", max_length=128),
        ),
    ),
    Route(
        "POST",
        "Search",
        search,
        "Search every enabled address book by number or text, concurrently.",
        (
            Param("query", required=True, max_length=256),
            Param("count", "integer", default=5, minimum=1, maximum=100),
            Param("offset", "integer", default=0, minimum=0, maximum=10_000),
            Param("includePictures", "boolean", default=False),
            Param("includeActivities", "boolean", default=False),
            Param("timeoutMs", "integer", minimum=50, maximum=30_000, description="Per-book deadline (default 1500)."),
        ),
        response="AddinCollection",
        array=True,
    ),
    Route("GET", "AddressBooks", address_books, "The configured address books.", response="AddressBook", array=True),
    Route("GET", "RecordTypes", record_types, "Record types of the enabled books.", response="RecordType", array=True),
    Route(
        "POST",
        "CreateNewRecord",
        create_new_record,
        "A new, empty record to fill with SaveRecord (RecordTypeId alone), or a contact created at once with fields.",
        (Param("RecordTypeId", required=True), *CONTACT_PARAMS),
        response="ContactRecord",
    ),
    Route(
        "POST",
        "SaveRecord",
        save_record,
        "Change a contact, or create the one a new record from CreateNewRecord stands for (once).",
        (Param("RecordId", required=True, max_length=2048), *CONTACT_PARAMS),
        response="ContactRecord",
    ),
    Route(
        "POST",
        "DoAction",
        do_action,
        "Run a record's action (open, edit, show activities, log a call): 204. LogActivity with actionId alone "
        "logs the record's latest reported call, or gives the page to log one, and answers which (200).",
        (Param("actionId", required=True, max_length=2048), *CALL_PARAMS),
        response="LogActivityResult",
        no_content_too=True,
    ),
    Route(
        "POST",
        "ShowWindow",
        show_window,
        "Open a window of the configuration UI in the browser; answers its one-time login address (Url) too.",
        (
            Param("window", required=True, enum=WINDOWS),
            Param(
                "OpenBrowser",
                "boolean",
                default=True,
                description="Open the window in the system's web browser (false: only answer its Url).",
            ),
            Param(
                "CanShowUrl",
                "boolean",
                default=True,
                description="The caller can show the Url itself (its own web view); false: no browser is a 503.",
            ),
        ),
        response="WindowLogin",
    ),
    Route(
        "POST",
        "Dial",
        dial,
        "Ask the phone client to dial a number (a link, a tel:/callto:/sip: URI); emits MakeCallRequest.",
        (
            Param("Destination", required=True, max_length=256),
            Param("Source", default="Api", enum=tuple(str(s) for s in REQUEST_SOURCES)),
        ),
        response="DialTarget",
    ),
    Route(
        "POST",
        "ScreenRead",
        screen_read,
        "Read the phone numbers shown around a point of the screen (OCR), nearest first; emits DialOffer.",
        (
            Param("X", "integer", minimum=-100_000, maximum=100_000, description="Default: the pointer's position."),
            Param("Y", "integer", minimum=-100_000, maximum=100_000, description="Default: the pointer's position."),
        ),
        response="DialTarget",
        array=True,
    ),
    Route(
        "GET",
        "Integrations",
        integrations,
        "Installed integrations the user can configure (Standard, and Controlled ones unlocked), with release notes.",
        response="Integration",
        array=True,
    ),
    Route(
        "POST",
        "PairExtension",
        pair_extension,
        "The browser extension trades a one-time pairing code for its own approved ApplicationId (extensions only).",
        (Param("Code", required=True, max_length=32), Param("Name", max_length=128)),
        response="ExtensionPairing",
    ),
    Route(
        "POST",
        "CallEvent",
        call_event,
        "Report a call's progress: pops the matched record (AutoPopOption), logs the call at its end, once per book.",
        CALL_EVENT_PARAMS,
        response="CallEventResult",
    ),
    Route("GET", "openapi.json", openapi_json, "This document.", response="OpenApi"),
)


def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        fields = parse_params(route.params, await read_body(request)) if route.method == "POST" else {}
        return await route.handler(request, fields)

    handler.__name__ = route.handler.__name__
    return handler


async def telephony_route(request: web.Request) -> web.StreamResponse:
    raise NotFound(
        f"'{request.match_info['name']}' is a telephony request: your phone client (PDC) handles calls; "
        "partnercrmd serves CRM routes only.",
        code="telephony_not_served",
    )


def add_api_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, f"/api/v1/{route.name}", _wrap(route), name=route.name)
    pattern = "|".join(TELEPHONY_ROUTES)
    app.router.add_route("*", f"/api/v1/{{name:(?:{pattern})}}", telephony_route)
    app.router.add_get("/api/v1/events/{app_id}", events_handler, name="events")
