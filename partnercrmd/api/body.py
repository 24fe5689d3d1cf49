"""The one request-body parser: every POST of the API and of the configuration pages reads its fields here.

Whatever a client sends, the result is fields of clean text or a 4xx with a Message, never a server error:
- the body must arrive within a time limit (a client trickling it is cut off: 408) and under the size limit
  (aiohttp's `client_max_size`: 413);
- form bodies (`application/x-www-form-urlencoded`, `multipart/form-data`) are UTF-8 and hold at most
  `MAX_FIELDS` fields; multipart bodies need their boundary and carry no files;
- JSON bodies are one object of plain values (text, numbers, true/false, null), parsed by orjson, which bounds
  nesting instead of recursing until the interpreter gives up;
- every name and text value passes `input_text.clean_text` (no NUL or other control characters, no lone
  surrogates), so no add-in ever sees text it cannot store or send.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from aiohttp import BodyPartReader, web
from multidict import MultiDict, MultiDictProxy

from .. import appkeys
from ..errors import BadRequest, PartnerError
from ..input_text import clean_text

MAX_FIELDS = 256
"""Fields one body may hold; the largest form of the configuration pages has a few dozen."""
BODY_READ_TIMEOUT = 10.0
"""Seconds a client has to send a whole body once its headers are in, unless DaemonConfig says otherwise."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
TEXT_CHARSETS = ("", "utf-8", "utf8", "us-ascii", "ascii")

JsonValue = str | int | float | bool | None


class RequestTimeout(PartnerError):
    status = 408
    code = "request_timeout"


async def read_bytes(request: web.Request, seconds: float) -> bytes:
    """The whole body, within `seconds` (RequestTimeout) and the app's size limit (413)."""
    if request.content.is_eof():  # the whole body came with the headers: nothing to wait for, no timer to arm
        return await request.read()
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {seconds:g} s; send it in one go.", code="request_timeout"
        ) from None


def _charset(request: web.Request) -> None:
    charset = (request.charset or "").lower()
    if charset not in TEXT_CHARSETS:
        raise BadRequest(f"Send the body as UTF-8, not {charset[:40]}.", code="invalid_encoding")


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8.", code="invalid_encoding") from None


def _too_many(count: int) -> BadRequest:
    return BadRequest(
        f"The body has {count if count > MAX_FIELDS else 'more than ' + str(MAX_FIELDS)} fields; "
        f"a request may have at most {MAX_FIELDS}.",
        code="too_many_fields",
    )


def _urlencoded(data: bytes) -> MultiDict[str]:
    text = _decode(data, "The form body")
    if text.count("&") + 1 > MAX_FIELDS and text.strip("&"):
        raise _too_many(len([p for p in text.split("&") if p]))
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("A field of the form body is not valid UTF-8 once decoded.", code="invalid_encoding") from None
    return MultiDict(pairs)


def _multipart(request: web.Request, data: bytes) -> MultiDict[str]:
    content_type = request.headers.get("Content-Type", "")
    if "boundary=" not in content_type.lower():
        raise BadRequest("A multipart/form-data body needs the boundary parameter.", code="invalid_body")
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", errors="replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + data)
    if not message.is_multipart():
        raise BadRequest("The multipart/form-data body could not be read.", code="invalid_body")
    fields: MultiDict[str] = MultiDict()
    for part in message.iter_parts():
        if len(fields) >= MAX_FIELDS:
            raise _too_many(MAX_FIELDS + 1)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise BadRequest("Each part of a multipart/form-data body needs a name.", code="invalid_body")
        if part.get_filename() is not None:
            raise BadRequest("This request takes fields, not files.", code="invalid_body")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise BadRequest(f"The part '{name[:40]}' of the multipart body is not a plain field.", code="invalid_body")
        fields.add(_decode(name.encode("utf-8", "surrogateescape"), "A field name"), _decode(payload, name))
    return fields


def _json(data: bytes) -> dict[str, JsonValue]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON ({str(exc)[:80]}).", code="invalid_json") from None
    if not isinstance(document, dict):
        raise BadRequest("The JSON body must be an object of fields.", code="invalid_json")
    if len(document) > MAX_FIELDS:
        raise _too_many(len(document))
    for name, value in document.items():
        if isinstance(value, (dict, list)):
            raise BadRequest(
                f"Field '{name[:40]}' must be text, a number, true/false or null, not a nested value.",
                code="invalid_field",
            )
    return document


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The fields of a form post (the configuration pages), names as sent, every value clean text."""
    if request.content_type not in FORM_TYPES:
        raise BadRequest("Post the form as application/x-www-form-urlencoded.", code="unsupported_media_type")
    fields = await _read(request)
    return MultiDictProxy(MultiDict((name, "" if value is None else str(value)) for name, value in fields.items()))


async def read_fields(request: web.Request) -> dict[str, JsonValue]:
    """An API request's fields by lower-cased name (the last of repeated ones); an empty body is no fields."""
    if not request.can_read_body:
        return {}
    if request.content_type not in (*FORM_TYPES, "application/json"):
        raise BadRequest(
            f"Send the fields as application/x-www-form-urlencoded or application/json, not {request.content_type}.",
            code="unsupported_media_type",
        )
    return {str(name).lower(): value for name, value in (await _read(request)).items()}


async def _read(request: web.Request) -> MultiDict[JsonValue]:
    config = request.app.get(appkeys.CONFIG)
    data = await read_bytes(request, config.body_read_timeout if config else BODY_READ_TIMEOUT)
    _charset(request)
    if request.content_type == "application/json":
        fields: MultiDict[JsonValue] = MultiDict(_json(data) if data.strip() else {})
    elif request.content_type == "multipart/form-data":
        fields = MultiDict(_multipart(request, data))
    else:
        fields = MultiDict(_urlencoded(data))
    for name, value in fields.items():
        clean_text(name, "A field name")
        if isinstance(value, str):
            clean_text(value, f"Field '{name[:40]}'")
    return fields


@dataclass(frozen=True)
class Upload:
    """A file posted with a form (the configuration pages' contact import): its name as the browser gave it."""

    filename: str
    data: bytes


async def read_upload(request: web.Request, file_field: str, max_file_bytes: int) -> tuple[MultiDictProxy[str], Upload]:
    """A `multipart/form-data` form with one file in `file_field`: its text fields (clean text) and the file.

    The one reader of uploads; every other form carries no file (`read_form`). The body is streamed, so the app's
    small `client_max_size` does not apply to it: the file may be up to `max_file_bytes` (413 beyond), the other
    fields up to MAX_FIELDS small values, all within the body time limit (408). No file chosen: BadRequest.
    """
    if request.content_type != "multipart/form-data":
        raise BadRequest("Post the form as multipart/form-data, with the file.", code="unsupported_media_type")
    config = request.app.get(appkeys.CONFIG)
    seconds = config.body_read_timeout if config else BODY_READ_TIMEOUT
    fields: MultiDict[str] = MultiDict()
    upload: Upload | None = None
    try:
        async with asyncio.timeout(seconds):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise BadRequest("A part of the form is itself multipart.", code="invalid_body")
                if len(fields) >= MAX_FIELDS:
                    raise _too_many(MAX_FIELDS + 1)
                name = clean_text(part.name or "", "A field name")
                if part.filename is not None and name == file_field:
                    data = await _read_part(part, max_file_bytes, "The file")
                    if upload is None and (part.filename or data):
                        upload = Upload(clean_text(part.filename, "The file name")[:255], data)
                    continue
                value = _decode(await _read_part(part, 64 * 1024, f"Field '{name[:40]}'"), name)
                fields.add(name, clean_text(value, f"Field '{name[:40]}'"))
    except TimeoutError:
        raise RequestTimeout(
            f"The form did not arrive within {seconds:g} s; send it in one go.", code="request_timeout"
        ) from None
    except ValueError as exc:  # aiohttp's multipart reader: a malformed body or a missing boundary
        raise BadRequest(
            f"The multipart/form-data body could not be read ({str(exc)[:80]}).", code="invalid_body"
        ) from None
    if upload is None:
        raise BadRequest("Choose a file to send.", code="missing_file")
    return MultiDictProxy(fields), upload


async def _read_part(part: BodyPartReader, limit: int, what: str) -> bytes:
    """A part's decoded bytes, at most `limit` of them (413 beyond)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{what} is larger than {limit // 1024} KiB.", code="too_large")
        chunks.append(chunk)
    return part.decode(b"".join(chunks))


class PayloadTooLarge(PartnerError):
    status = 413
    code = "too_large"
