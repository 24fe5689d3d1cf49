"""Odoo's external API reproduced over JSON-RPC from its documentation (real Odoo cannot run here: Debian has
no package of it, and its install pulls PostgreSQL, wkhtmltopdf and some 60 Python packages into a test).

Follows, page by page:
- https://www.odoo.com/documentation/17.0/developer/howtos/web_services.html ("JSON-RPC Library"): POST to
  /jsonrpc of {"jsonrpc": "2.0", "method": "call", "params": {"service", "method", "args"}, "id"} with
  Content-Type application/json; the answer {"jsonrpc": "2.0", "id", "result"}.
- https://www.odoo.com/documentation/17.0/developer/reference/external_api.html: the services common
  (login(db, login, password) and authenticate(db, login, password, user_agent_env) give the uid, or false for
  wrong credentials; version()) and object (execute_kw(db, uid, password, model, method, args, kwargs)),
  search_read with a domain and the kwargs fields/offset/limit/order, create(vals) giving the new id;
  "API Keys": since Odoo 14 a key replaces the password in these calls. Many2one fields read as [id, name],
  empty fields as false.
- https://www.odoo.com/documentation/17.0/developer/reference/backend/orm.html ("Domains"): a list of leaves
  [field, operator, value] in prefix notation with '&' (implicit between terms), '|' and '!'; the operators
  =, !=, in, not in, like, ilike (contains the value), =like and =ilike (the value is an SQL LIKE pattern: _
  any one character, % any string).
- https://www.odoo.com/documentation/17.0/developer/reference/backend/mixins.html ("Messaging integration"):
  mail.thread's message_post(body, message_type, subtype_xmlid, …) on a record, giving the message's id.
- https://www.jsonrpc.org/specification (JSON-RPC 2.0): error objects {code, message, data}. Odoo's errors
  (odoo/http.py, JsonRPCDispatcher.handle_error): code 200, message "Odoo Server Error", data the exception
  as serialize_exception writes it: {name: its module and class (odoo.exceptions.AccessDenied for a wrong
  key), debug: the traceback, message, arguments, context}; always with HTTP status 200. A type="json" route
  posted with another Content-Type is a 400 (werkzeug BadRequest).

Wrong envelopes are refused as Odoo refuses them: a request that is not JSON-RPC, an unknown service, method,
model, field, keyword argument or domain operator is an error answer, never a guess.
The users here typed numbers in several ways (Person.phone, as given).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

DATABASE = "northwind"
LOGIN = "dana@northwind.example"
API_KEY = "4f1c7a9e2b8d6035e1f7a2c4b9d8e6f0a3c5b7d9"
UID = 2
SECRETS = ("api_key",)
FIELDS = ("name", "phone", "mobile", "email", "function", "parent_id", "company_name", "is_company")
"""The res.partner fields this reproduction keeps (a real database has many more: reading others is refused)."""
SEARCH_READ_KWARGS = {"fields", "offset", "limit", "order", "context"}
MESSAGE_POST_KWARGS = {"body", "subject", "message_type", "subtype_xmlid", "partner_ids", "body_is_html", "context"}
OPERATORS = {"=", "!=", "in", "not in", "like", "ilike", "=like", "=ilike"}


class OdooError(Exception):
    """An exception the server turns into a JSON-RPC error object (its Python name, its message)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def access_denied() -> OdooError:
    return OdooError("odoo.exceptions.AccessDenied", "Access Denied")


def like(pattern: str, value: str, *, case: bool) -> bool:
    """SQL LIKE: % any string, _ any one character, the whole value."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE | re.DOTALL) is not None


def build() -> FakeCrm:
    crm = FakeCrm(
        "Odoo",
        unauthorized=lambda: web.Response(status=400, text="Bad Request"),
        credentials_in_body=True,
    )
    partners = crm.records

    def add(values: dict[str, Any]) -> int:
        partner_id = crm.new_id()
        partners[str(partner_id)] = {"id": partner_id, **dict.fromkeys(FIELDS, False), "is_company": False, **values}
        return partner_id

    for p in PEOPLE:
        company = add({"name": p.company, "is_company": True})
        fields = {"name": p.name, "phone": p.phone, "email": p.email, "function": p.title or False}
        add(fields | {"mobile": p.mobile or False, "parent_id": company})

    def shown(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": record["id"]}
        for name in fields or FIELDS:
            value = record[name]
            if name == "parent_id" and value:
                value = [value, partners[str(value)]["name"]]  # many2one: [id, display name]
            out[name] = value
        return out

    def leaf(record: dict[str, Any], term: Any) -> bool:
        if not (isinstance(term, list) and len(term) == 3 and isinstance(term[0], str)):
            raise OdooError("builtins.ValueError", f"Invalid leaf {term!r}")
        name, operator, value = term
        if name != "id" and name not in FIELDS:
            raise OdooError("builtins.ValueError", f"Invalid field res.partner.{name} in leaf {term!r}")
        if operator not in OPERATORS:
            raise OdooError("builtins.ValueError", f"Invalid leaf {term!r}")
        stored = record[name]
        if operator in ("=", "!="):
            return bool(stored == value) if operator == "=" else bool(stored != value)
        if operator in ("in", "not in"):
            return bool(stored in value) if operator == "in" else bool(stored not in value)
        if stored is False:
            return False  # an empty field matches no pattern
        if operator in ("like", "ilike"):
            return like(f"%{value}%", str(stored), case=operator == "like")
        return like(str(value), str(stored), case=operator == "=like")

    def matches(record: dict[str, Any], domain: Any) -> bool:
        if not isinstance(domain, list):
            raise OdooError("builtins.ValueError", f"Invalid domain {domain!r}")
        stack: list[bool] = []
        for term in reversed(domain):  # prefix notation, read from the end
            if term == "!":
                stack.append(not stack.pop())
            elif term in ("&", "|"):
                first, second = stack.pop(), stack.pop()
                stack.append(first and second if term == "&" else first or second)
            else:
                stack.append(leaf(record, term))
        return all(stack)  # terms left side by side are joined by an implicit '&'

    def check_fields(fields: Any) -> list[str] | None:
        if fields is None:
            return None
        if not isinstance(fields, list) or any(f not in FIELDS for f in fields):
            raise OdooError("builtins.ValueError", f"Invalid field {fields!r} on model 'res.partner'")
        return list(fields)

    def execute_kw(db: Any, uid: Any, key: Any, model: Any, method: Any, args: Any, kwargs: Any = None) -> Any:
        if db != DATABASE:
            raise OdooError("psycopg2.OperationalError", f'FATAL:  database "{db}" does not exist')
        if uid != UID or key != API_KEY:
            raise access_denied()
        if model != "res.partner":
            raise OdooError("builtins.KeyError", repr(model))
        kwargs = kwargs or {}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise OdooError("builtins.TypeError", "execute_kw() takes args as a list and kwargs as a dict")
        if method == "search_read":
            if len(args) != 1 or set(kwargs) - SEARCH_READ_KWARGS:
                raise OdooError("builtins.TypeError", f"search_read() got unexpected arguments {args[1:]} {kwargs}")
            fields = check_fields(kwargs.get("fields"))
            found = [r for r in partners.values() if matches(r, args[0])]
            offset, limit = int(kwargs.get("offset") or 0), kwargs.get("limit")
            found = found[offset : offset + int(limit) if limit else None]
            return [shown(r, fields) for r in found]
        if method == "create":
            if len(args) != 1 or not isinstance(args[0], dict) or kwargs:
                raise OdooError("builtins.TypeError", "create() takes one dict of values")
            values = args[0]
            unknown = set(values) - set(FIELDS)
            if unknown:
                raise OdooError("builtins.ValueError", f"Invalid field {sorted(unknown)[0]!r} on model 'res.partner'")
            if not values.get("name"):
                raise OdooError("odoo.exceptions.ValidationError", "Contacts require a name")
            crm.write("partners", values)
            return add(values)
        if method == "message_post":
            if (
                len(args) != 1
                or not isinstance(args[0], list)
                or len(args[0]) != 1
                or set(kwargs) - MESSAGE_POST_KWARGS
            ):
                raise OdooError("builtins.TypeError", f"message_post() got unexpected arguments {args} {kwargs}")
            if str(args[0][0]) not in partners or not isinstance(args[0][0], int):
                raise OdooError("odoo.exceptions.MissingError", "Record does not exist or has been deleted.")
            message_id = crm.new_id()
            crm.write("messages", {"res_id": args[0][0], "model": "res.partner", **kwargs})
            return message_id
        raise OdooError("builtins.AttributeError", f"The method '{method}' does not exist on the model 'res.partner'")

    def login(db: Any, user: Any, key: Any, *_: Any) -> int | bool:
        if db != DATABASE:
            raise OdooError("psycopg2.OperationalError", f'FATAL:  database "{db}" does not exist')
        return UID if (user, key) == (LOGIN, API_KEY) else False

    services: dict[tuple[str, str], Callable[..., Any]] = {
        ("common", "login"): login,
        ("common", "authenticate"): login,
        ("common", "version"): lambda: {"server_version": "17.0", "server_serie": "17.0", "protocol_version": 1},
        ("object", "execute_kw"): execute_kw,
    }

    @crm.route("POST", "/jsonrpc")
    async def jsonrpc(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.Response(status=400, text="Bad Request")
        call = await request.json()
        if not (
            isinstance(call, dict)
            and call.get("jsonrpc") == "2.0"
            and call.get("method") == "call"
            and isinstance(call.get("params"), dict)
            and set(call) <= {"jsonrpc", "method", "params", "id"}
        ):
            raise web.HTTPBadRequest(text="not an Odoo JSON-RPC call")
        params = call["params"]
        service = services.get((params.get("service"), params.get("method")))
        args = params.get("args")
        try:
            if service is None or set(params) != {"service", "method", "args"} or not isinstance(args, list):
                raise OdooError("builtins.KeyError", f"{params.get('service')}.{params.get('method')}")
            result = service(*args)
        except OdooError as error:
            data: dict[str, Any] = {"name": error.name, "debug": "Traceback (most recent call last):\n…"}
            data |= {"message": error.message, "arguments": [error.message], "context": {}}
            body = {"code": 200, "message": "Odoo Server Error", "data": data}
            return web.json_response({"jsonrpc": "2.0", "id": call.get("id"), "error": body})
        except TypeError as error:  # a call with the wrong number of arguments
            data = {"name": "builtins.TypeError", "debug": "", "message": str(error), "arguments": [], "context": {}}
            body = {"code": 200, "message": "Odoo Server Error", "data": data}
            return web.json_response({"jsonrpc": "2.0", "id": call.get("id"), "error": body})
        return web.json_response({"jsonrpc": "2.0", "id": call.get("id"), "result": result})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"url": crm.url, "database": DATABASE, "username": LOGIN, "api_key": API_KEY}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return settings(crm) | {"api_key": "0" * 8 + "revoked-odoo-key-" + "f" * 16}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/web#id={contact_id}&model=res.partner&view_type=form"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["messages"]
    assert note["res_id"] == int(contact_id) and note["model"] == "res.partner"
    assert (note["message_type"], note["subtype_xmlid"]) == ("comment", "mail.mt_note")  # an internal note
    subject, _, body = note["body"].partition("\n")
    assert subject == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000", subject
    assert "Duration: 1:35" in body and f"Start: {start.strftime('%Y-%m-%d %H:%M:%S')} UTC" in body, body
    assert body.endswith("Wants a quote for 40 chairs."), body


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["partners"]
    assert created == {"name": "Grace Hopper", "phone": "020 7183 8750", "email": "grace.hopper@example.com"}
