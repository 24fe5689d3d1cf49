"""Request fields: form-urlencoded or JSON bodies, names matched case-insensitively, checked against a spec.

The same `Param` specs document the routes in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from ..errors import BadRequest
from .body import read_fields

Kind = Literal["string", "integer", "boolean"]
TRUE = {"true"}
FALSE = {"false"}
"""A true/false field as the document says and the published client sends it (`true`, any case); 1/0, yes/no
and on/off are refused with a clear message rather than guessed."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind = "string"
    required: bool = False
    default: Any = None
    max_length: int = 256
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] = ()
    description: str = ""

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.kind}
        if self.kind == "string":
            schema["maxLength"] = self.max_length
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.default is not None:
            schema["default"] = self.default
        if self.description:
            schema["description"] = self.description
        return schema


async def read_body(request: web.Request) -> dict[str, Any]:
    """The request's fields with lower-cased names, through the one body parser (api/body.py)."""
    return await read_fields(request)


def _convert(param: Param, value: Any) -> Any:
    """`value` (text from a form; text, number or true/false from JSON) as `param` declares; else BadRequest."""
    if param.kind == "integer":
        return _whole_number(param, value)
    if param.kind == "boolean":
        text = value.strip().lower() if isinstance(value, str) else None
        if isinstance(value, bool) or text in TRUE | FALSE:
            return value if isinstance(value, bool) else text in TRUE
        raise BadRequest(f"Field '{param.name}' must be true or false.", code="invalid_field")
    if not isinstance(value, str):  # JSON numbers and true/false are not text: the document says so
        raise BadRequest(f"Field '{param.name}' must be text.", code="invalid_field")
    if len(value) > param.max_length:
        raise BadRequest(f"Field '{param.name}' is longer than {param.max_length} characters.", code="field_too_long")
    if param.enum and value.lower() not in {e.lower() for e in param.enum}:
        raise BadRequest(f"Field '{param.name}' must be one of: {', '.join(param.enum)}.", code="invalid_field")
    return value


def _whole_number(param: Param, value: Any) -> int:
    wrong = BadRequest(f"Field '{param.name}' must be a whole number.", code="invalid_field")
    if isinstance(value, bool):
        raise wrong
    if isinstance(value, float):
        if not value.is_integer():
            raise wrong
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdigit() or len(text) > 12:
            raise wrong
        value = int(text)
    if not isinstance(value, int):
        raise wrong
    low = param.minimum if param.minimum is not None else -(2**31)
    high = param.maximum if param.maximum is not None else 2**31
    if not low <= value <= high:
        raise BadRequest(f"Field '{param.name}' must be from {low} to {high}.", code="invalid_field")
    return value


def parse_params(params: Sequence[Param], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Values by canonical field name; absent or empty fields take their default (the client drops falsy ones)."""
    values: dict[str, Any] = {}
    for param in params:
        key = param.name.lower()
        raw = fields.get(key)
        if raw is None and key in fields and param.kind != "string":
            # JSON's null for a number or a true/false field: what the document does not allow, said plainly.
            kind = "true or false" if param.kind == "boolean" else "a whole number"
            raise BadRequest(f"Field '{param.name}' must be {kind}, not null.", code="invalid_field")
        if raw is None or raw == "":
            if param.required:
                raise BadRequest(f"The field '{param.name}' is required.", code="missing_field")
            values[param.name] = param.default
            continue
        values[param.name] = _convert(param, raw)
    return values


Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]
"""A route's handler: the request and its fields, already checked against the route's `params`."""


@dataclass(frozen=True)
class Route:
    """One route of /api/v1: its fields drive the checks, and the OpenAPI document (api/openapi.py) is built from it."""

    method: str
    name: str
    handler: Handler
    summary: str
    params: tuple[Param, ...] = ()
    response: str | None = None
    """Name of the response schema in the OpenAPI document (None: 204 No Content)."""
    array: bool = False
    no_content_too: bool = False
    """The route answers 204 No Content as well as `response` (DoAction: 204, or what a LogActivity did)."""
