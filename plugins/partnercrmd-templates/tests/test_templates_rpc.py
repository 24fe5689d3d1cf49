"""JSON-RPC 2.0 and XML-RPC requests in the template engine (issue #16.3), against small local RPC servers.

The JSON-RPC server follows the JSON-RPC 2.0 specification (https://www.jsonrpc.org/specification: §4 request
objects, §5 responses with `result` or `error`, §5.1 error codes) and refuses any other envelope; the XML-RPC
server is the standard library's own dispatcher (`xmlrpc.server.SimpleXMLRPCDispatcher`: it reads the
methodCall and writes the methodResponse or fault). Both sign in as Odoo's external API does: a `login` call
gives a user id (or false for wrong credentials) that every later call carries with the key.
"""

from __future__ import annotations

import xmlrpc.client
import xmlrpc.server
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from partnercrmd_templates.connector import TemplateBook, TemplateSource
from partnercrmd_templates.loader import TemplateError, load_text

# The engine tests' demo template, its people and helpers; its fixture of the user's template folder.
from test_templates_engine import DEMO, PEOPLE, TOKEN, edit, found, run_cli, templates_dir

from partnercrmd.sdk import AddinError, BookContext, SearchQuery
from partnercrmd.testing import ApiSession, configure_book, remove_default_book

__all__ = ["templates_dir"]  # the autouse fixture, used by name

UID = 7
WRONG = "demo-wrong-token-987654"


def by_phone(phone: str) -> list[dict[str, Any]]:
    digits = "".join(c for c in phone if c.isdigit())[-7:]
    return [p for p in PEOPLE if "".join(c for c in str(p["phone"]) if c.isdigit()).endswith(digits)]


def named(text: str) -> list[dict[str, Any]]:
    return [p for p in PEOPLE if text.lower() in str(p["name"]).lower()]


@dataclass
class RpcCrm:
    """The demo people behind a JSON-RPC 2.0 endpoint (/jsonrpc) and an XML-RPC one (/xmlrpc)."""

    server: TestServer | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Every JSON-RPC request object received, as sent."""
    xml_calls: list[str] = field(default_factory=list)
    """The method of every XML-RPC call."""
    revoked: bool = False
    """The key stops working (after a sign-in): every call but login is refused."""
    answer_instead: Any = None
    """Answer this JSON (or, for XML-RPC, these bytes) to the next call instead of a response."""
    xmlrpc: xmlrpc.server.SimpleXMLRPCDispatcher = field(
        default_factory=lambda: xmlrpc.server.SimpleXMLRPCDispatcher(allow_none=True)
    )

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def _check(self, uid: Any, key: Any) -> str | None:
        """Why a call's credentials are refused, or None."""
        if uid != UID or key != TOKEN or self.revoked:
            return f"Access denied for uid {uid} with key {key}"  # quoting the key, as careless servers do
        return None

    # --- JSON-RPC 2.0 ------------------------------------------------------------------------------------------

    async def jsonrpc(self, request: web.Request) -> web.Response:
        try:
            call = await request.json()
        except ValueError:
            return web.json_response(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
            )
        self.calls.append(call)
        if self.answer_instead is not None:
            instead, self.answer_instead = self.answer_instead, None
            return web.json_response(instead)
        valid = (
            isinstance(call, dict)
            and call.get("jsonrpc") == "2.0"
            and isinstance(call.get("method"), str)
            and isinstance(call.get("params", []), (list, dict))
            and isinstance(call.get("id"), (int, str))
            and set(call) <= {"jsonrpc", "method", "params", "id"}
        )
        if not valid:
            return web.json_response(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}
            )
        params = call.get("params", [])

        def error(code: int, message: str, data: Any = None) -> web.Response:
            body = {"code": code, "message": message} | ({"data": data} if data is not None else {})
            return web.json_response({"jsonrpc": "2.0", "id": call["id"], "error": body})

        def result(value: Any) -> web.Response:
            return web.json_response({"jsonrpc": "2.0", "id": call["id"], "result": value})

        if call["method"] == "login" and isinstance(params, list) and len(params) == 2:
            return result(UID if params == ["demo-user", TOKEN] else False)
        if call["method"] in ("people.by_phone", "people.named") and isinstance(params, dict):
            refused = self._check(params.get("uid"), params.get("key"))
            if refused:
                return error(-32001, refused, {"name": "AccessDenied"})
            if call["method"] == "people.by_phone":
                return result(by_phone(str(params["phone"])))
            return result(named(str(params["text"])))
        return error(-32601, "Method not found", {"method": call["method"]})

    # --- XML-RPC -----------------------------------------------------------------------------------------------

    def register_xmlrpc(self) -> None:
        # Any: the dispatcher's stubs take functions of XML-RPC values, whatever their kinds.
        def login(user: Any, key: Any) -> Any:
            return UID if (user, key) == ("demo-user", TOKEN) else False

        def people_by_phone(uid: Any, key: Any, phone: Any) -> Any:
            refused = self._check(uid, key)
            if refused:
                raise xmlrpc.client.Fault(3, refused)  # Odoo's RPC_FAULT_CODE_ACCESS_DENIED
            return [{**p, "changed": datetime(2026, 12, 1, 10, 30)} for p in by_phone(phone)]

        def people_named(uid: Any, key: Any, text: Any) -> Any:
            refused = self._check(uid, key)
            if refused:
                raise xmlrpc.client.Fault(3, refused)
            return named(text)

        self.xmlrpc.register_function(login, "login")
        self.xmlrpc.register_function(people_by_phone, "people.by_phone")
        self.xmlrpc.register_function(people_named, "people.named")

    async def xml(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.content_type != "text/xml":
            return web.Response(status=400, text="an XML-RPC call is text/xml")
        method = xmlrpc.client.loads(body)[1]
        self.xml_calls.append(str(method))
        if self.answer_instead is not None:
            instead, self.answer_instead = self.answer_instead, None
            return web.Response(body=instead, content_type="text/xml")
        # The standard library's dispatcher: the methodResponse, or a fault for what the function raised.
        answer = self.xmlrpc._marshaled_dispatch(body)
        return web.Response(body=answer, content_type="text/xml")


@pytest.fixture
async def rpc() -> AsyncIterator[RpcCrm]:
    crm = RpcCrm()
    crm.register_xmlrpc()
    app = web.Application()
    app.router.add_post("/jsonrpc", crm.jsonrpc)
    app.router.add_post("/xmlrpc", crm.xml)
    crm.server = TestServer(app, host="127.0.0.1", port=0)
    await crm.server.start_server()
    yield crm
    await crm.server.close()


def rpc_template(kind: str) -> str:
    """DEMO with its lookup and search made `kind` calls that sign in first (`session`) and carry the uid."""
    head = DEMO[: DEMO.index("auth:")]
    if kind == "jsonrpc":
        login = '{method: login, params: ["demo-user", "{{ settings.token }}"]}'
        by_phone = '{method: people.by_phone, params: {uid: "{{ session.uid }}", key: "{{ settings.token }}", phone: "{{ number }}"}}'  # noqa: E501
        named = '{method: people.named, params: {uid: "{{ session.uid }}", key: "{{ settings.token }}", text: "{{ text }}"}}'  # noqa: E501
        auth_error = "code == `-32001`"
    else:
        login = '{method: login, params: ["demo-user", "{{ settings.token }}"]}'
        by_phone = '{method: people.by_phone, params: ["{{ session.uid }}", "{{ settings.token }}", "{{ number }}"]}'
        named = '{method: people.named, params: ["{{ session.uid }}", "{{ settings.token }}", "{{ text }}"]}'
        auth_error = "code == `3`"
    return (
        head
        + f"""auth: {{type: none}}
error_message: "message"
rpc_auth_error: "{auth_error}"
session:
  doing: sign in
  request:
    url: /{kind}
    {kind}: {login}
  remember: {{uid: "@"}}
operations:
  lookup:
    request:
      url: /{kind}
      {kind}: {by_phone}
    response:
      records: "@"
      fields: &person
        Id: id
        ContactName: name
        BusinessPhone: phone
        Notes: changed
  search:
    request:
      url: /{kind}
      {kind}: {named}
    response:
      records: "@"
      fields: *person
"""
    )


def connector(tmp_path: Path, text: str, url: str, token: str = TOKEN) -> TemplateBook:
    path = tmp_path / "rpc.yaml"
    path.write_text(text, encoding="utf-8")
    return TemplateBook(
        BookContext("b", "B", {"url": url, "token": token}, tmp_path, "GB"), TemplateSource(path, load_text(text, "x"))
    )


def names(contacts: Any) -> list[str]:
    return [c.name for c in contacts]


# --- JSON-RPC 2.0 --------------------------------------------------------------------------------------------


async def test_jsonrpc_calls_sign_in_once_carry_the_uid_and_read_the_result(
    templates_dir: Path, api: ApiSession, partnercrmd_app: web.Application, rpc: RpcCrm
) -> None:
    await edit(templates_dir / "demo.yaml", rpc_template("jsonrpc"))
    await remove_default_book(partnercrmd_app)
    book = await configure_book(partnercrmd_app, "demo", url=rpc.url, token=TOKEN)
    assert await found(api, book, "+44 20 7946 0103") == (["Hedy Lamarr"], "")
    assert await found(api, book, "ada") == (["Ada Lovelace", "Ada Yonath"], "")
    # Signed in once; each call a JSON-RPC 2.0 request object (§4) with its own id, the uid from the sign-in.
    assert [c["method"] for c in rpc.calls] == ["login", "people.by_phone", "people.named"]
    assert all(set(c) == {"jsonrpc", "method", "params", "id"} and c["jsonrpc"] == "2.0" for c in rpc.calls)
    assert len({c["id"] for c in rpc.calls}) == 3
    assert rpc.calls[1]["params"] == {"uid": UID, "key": TOKEN, "phone": "+442079460103"}


async def test_a_refused_sign_in_is_invalid_auth_and_names_the_setting_not_its_value(
    tmp_path: Path, templates_dir: Path, api: ApiSession, partnercrmd_app: web.Application, rpc: RpcCrm
) -> None:
    book = connector(tmp_path, rpc_template("jsonrpc"), rpc.url, token=WRONG)
    try:
        with pytest.raises(AddinError) as refused:
            await book.search(SearchQuery("Ada", 10))
    finally:
        await book.close()
    assert refused.value.code == "invalid_auth"
    assert refused.value.message == "Demo CRM refused to sign in (its answer gave no uid). Check the setting 'token'."
    # Through the daemon: the book says so, and the key is nowhere in what it says.
    await edit(templates_dir / "demo.yaml", rpc_template("jsonrpc"))
    await remove_default_book(partnercrmd_app)
    daemon_book = await configure_book(partnercrmd_app, "demo", url=rpc.url, token=WRONG)
    hits, error = await found(api, daemon_book, "Ada")
    assert hits == [] and error == refused.value.message


async def test_an_rpc_auth_error_is_invalid_auth_masked_and_signs_in_again(tmp_path: Path, rpc: RpcCrm) -> None:
    book = connector(tmp_path, rpc_template("jsonrpc"), rpc.url)
    try:
        assert names(await book.search(SearchQuery("Alan", 10))) == ["Alan Turing"]
        rpc.revoked = True
        with pytest.raises(AddinError) as refused:
            await book.search(SearchQuery("Alan", 10))
        assert refused.value.code == "invalid_auth"
        assert refused.value.message == (
            f"Demo CRM refused to search contacts by name (JSON-RPC error -32001: Access denied for uid {UID} "
            "with key ***). Check the setting 'token'."
        )
        # The refusal dropped the session: the next operation signs in again before its call.
        rpc.revoked = False
        assert names(await book.search(SearchQuery("Alan", 10))) == ["Alan Turing"]
        assert [c["method"] for c in rpc.calls] == ["login", "people.named", "people.named", "login", "people.named"]
    finally:
        await book.close()


async def test_other_rpc_errors_are_unknown_with_the_servers_words(tmp_path: Path, rpc: RpcCrm) -> None:
    misspelt = rpc_template("jsonrpc").replace("method: people.named", "method: people.nmed")
    book = connector(tmp_path, misspelt, rpc.url)
    try:
        with pytest.raises(AddinError) as failed:
            await book.search(SearchQuery("Alan", 10))
    finally:
        await book.close()
    assert failed.value.code == "unknown"
    assert (
        failed.value.message == "Demo CRM could not search contacts by name (JSON-RPC error -32601: Method not found)."
    )


@pytest.mark.parametrize(
    "answer",
    [
        {"result": [PEOPLE[0]]},  # no "jsonrpc": "2.0"
        {"jsonrpc": "2.0", "id": 999, "result": [PEOPLE[0]]},  # the answer to another call
        {"jsonrpc": "2.0", "id": 3},  # neither result nor error (to the right call: the third)
        [PEOPLE[0]],  # not a response object at all
    ],
)
async def test_an_answer_that_is_no_jsonrpc_response_is_invalid_data(tmp_path: Path, rpc: RpcCrm, answer: Any) -> None:
    book = connector(tmp_path, rpc_template("jsonrpc"), rpc.url)
    try:
        assert names(await book.search(SearchQuery("Alan", 10))) == ["Alan Turing"]  # signed in: calls 1 and 2
        rpc.answer_instead = answer
        with pytest.raises(AddinError) as failed:
            await book.search(SearchQuery("Alan", 10))
    finally:
        await book.close()
    assert failed.value.code == "invalid_data"
    assert failed.value.message.startswith(f"Demo CRM at {rpc.url} answered the request to search contacts by name")
    assert failed.value.message.endswith("check the setting 'url'.")


async def test_a_null_error_beside_the_result_is_a_result(tmp_path: Path, rpc: RpcCrm) -> None:
    """JSON-RPC 2.0 §5 leaves `error` out of a success, but some servers write "error": null (Nutshell does)."""
    book = connector(tmp_path, rpc_template("jsonrpc"), rpc.url)
    try:
        assert names(await book.search(SearchQuery("Alan", 10))) == ["Alan Turing"]  # signed in: calls 1 and 2
        rpc.answer_instead = {"jsonrpc": "2.0", "id": 3, "result": [PEOPLE[2]], "error": None}
        assert names(await book.search(SearchQuery("Grace", 10))) == ["Grace Hopper"]
    finally:
        await book.close()


async def test_test_connection_says_a_refused_sign_in_is_the_credentials(tmp_path: Path, rpc: RpcCrm) -> None:
    """`books test` and the Test button: the CRM answered, the sign-in was refused (not an error of the test)."""
    for token, expected in [
        (TOKEN, [("reach", True), ("search", True)]),
        (WRONG, [("reach", True), ("authenticate", False)]),
    ]:
        book = connector(tmp_path, rpc_template("jsonrpc"), rpc.url, token=token)
        try:
            results = await book.test()
        finally:
            await book.close()
        assert [(r.check, r.ok) for r in results] == expected
    assert (results[1].error_key, results[1].message) == (
        "invalid_auth",
        "Demo CRM refused to sign in (its answer gave no uid). Check the setting 'token'.",
    )


# --- XML-RPC ------------------------------------------------------------------------------------------------


async def test_xmlrpc_calls_read_the_method_response(tmp_path: Path, rpc: RpcCrm) -> None:
    book = connector(tmp_path, rpc_template("xmlrpc"), rpc.url)
    try:
        [hedy] = await book.search(SearchQuery("+44 20 7946 0103", 10, number="+442079460103"))
        assert (hedy.name, hedy.phones[0].number) == ("Hedy Lamarr", "+44 20 7946 0103")
        assert hedy.notes == "2026-12-01T10:30:00"  # an XML-RPC dateTime.iso8601, as ISO 8601 text
        assert names(await book.search(SearchQuery("ada", 10))) == ["Ada Lovelace", "Ada Yonath"]
    finally:
        await book.close()
    assert rpc.xml_calls == ["login", "people.by_phone", "people.named"]


async def test_an_xmlrpc_fault_is_the_books_error_and_a_non_response_invalid_data(tmp_path: Path, rpc: RpcCrm) -> None:
    book = connector(tmp_path, rpc_template("xmlrpc"), rpc.url)
    try:
        assert names(await book.search(SearchQuery("Alan", 10))) == ["Alan Turing"]
        rpc.revoked = True
        with pytest.raises(AddinError) as refused:
            await book.search(SearchQuery("Alan", 10))
        assert refused.value.code == "invalid_auth"
        assert refused.value.message == (
            f"Demo CRM refused to search contacts by name (XML-RPC error 3: Access denied for uid {UID} with key ***)."
            " Check the setting 'token'."
        )
        rpc.revoked = False
        assert names(await book.search(SearchQuery("Alan", 10))) == ["Alan Turing"]  # signed in again
        rpc.answer_instead = b"<html><body>Welcome to nginx!</body></html>"
        with pytest.raises(AddinError) as failed:
            await book.search(SearchQuery("Alan", 10))
        assert failed.value.code == "invalid_data"
        assert "with something that is not an XML-RPC methodResponse" in failed.value.message
        rpc.answer_instead = xmlrpc.client.dumps(xmlrpc.client.Fault(1, "ZeroDivisionError"), methodresponse=True)
        rpc.answer_instead = rpc.answer_instead.encode()
        with pytest.raises(AddinError) as other:
            await book.search(SearchQuery("Alan", 10))
        assert (other.value.code, other.value.message) == (
            "unknown",
            "Demo CRM could not search contacts by name (XML-RPC error 1: ZeroDivisionError).",
        )
    finally:
        await book.close()


# --- the dry-run trace masks the credentials the params carry ----------------------------------------------


@pytest.mark.parametrize("kind", ["jsonrpc", "xmlrpc"])
async def test_template_try_shows_each_call_with_the_key_in_its_params_masked(
    tmp_path: Path, rpc: RpcCrm, kind: str
) -> None:
    path = tmp_path / "rpc.yaml"
    path.write_text(rpc_template(kind), encoding="utf-8")
    code, out, err = await run_cli(
        "template", "try", str(path), "--op", "lookup", "--number", "020 7946 0103",
        "--set", f"url={rpc.url}", "--set", f"token={TOKEN}", home=tmp_path / "home",
    )  # fmt: skip
    assert code == 0, err
    assert TOKEN not in out
    assert f"--> request 1: POST {rpc.url}/{kind}" in out and f"--> request 2: POST {rpc.url}/{kind}" in out
    if kind == "jsonrpc":
        assert '"method": "people.by_phone"' in out and '"key": "***"' in out
    else:
        assert "<methodName>people.by_phone</methodName>" in out and "<string>***</string>" in out
    assert out.rstrip().endswith("1 record(s):\n  4: Hedy Lamarr |  | BusinessPhone=+44 20 7946 0103 |")
    # A wrong key: the failure is said without it.
    code, out, _ = await run_cli(
        "template", "try", str(path), "--op", "search", "--text", "Ada",
        "--set", f"url={rpc.url}", "--set", f"token={WRONG}", home=tmp_path / "home",
    )  # fmt: skip
    assert code == 1 and WRONG not in out
    assert out.rstrip().endswith(
        "FAILED: Demo CRM refused to sign in (its answer gave no uid). Check the setting 'token'."
    )


@pytest.mark.parametrize("kind", ["jsonrpc", "xmlrpc"])
async def test_the_trace_masks_a_key_however_the_call_escapes_it(tmp_path: Path, rpc: RpcCrm, kind: str) -> None:
    """A key with characters JSON escapes ('"', '\\'), XML escapes ('&', '<') and URLs encode ('/', '+', '='):
    the call writes it escaped, and the trace shows none of its spellings."""
    key = 'sw33p/q+Z=&"<x\\y'
    path = tmp_path / "rpc.yaml"
    path.write_text(rpc_template(kind), encoding="utf-8")
    code, out, _ = await run_cli(
        "template", "try", str(path), "--op", "search", "--text", "Ada",
        "--set", f"url={rpc.url}", "--set", f"token={key}", home=tmp_path / "home",
    )  # fmt: skip
    assert code == 1 and "--> request 1: POST" in out
    assert "sw33p" not in out, out
    # The sign-in carried the key as it is (it was refused: not the key the server knows).
    assert rpc.xml_calls == ["login"] if kind == "xmlrpc" else rpc.calls[0]["params"] == ["demo-user", key]


# --- templates that are wrong --------------------------------------------------------------------------------


def problems(text: str) -> str:
    with pytest.raises(TemplateError) as broken:
        load_text(text, "demo.yaml")
    return str(broken.value)


def test_an_rpc_call_is_the_whole_body_of_a_post() -> None:
    text = rpc_template("jsonrpc")
    with_json = text.replace(
        "    request:\n      url: /jsonrpc\n      jsonrpc: {method: people.named",
        "    request:\n      url: /jsonrpc\n      json: {a: 1}\n      jsonrpc: {method: people.named",
    )
    assert with_json != text
    assert "operations.search.request.jsonrpc: a request sends one body: jsonrpc cannot go with json" in problems(
        with_json
    )
    as_get = text.replace(
        "    request:\n      url: /jsonrpc\n      jsonrpc: {method: people.named",
        "    request:\n      method: GET\n      url: /jsonrpc\n      jsonrpc: {method: people.named",
    )
    assert as_get != text
    assert "operations.search.request.method: a JSON-RPC call is POSTed: leave out method or say POST" in problems(
        as_get
    )


def test_xmlrpc_params_are_by_position_and_session_values_are_expressions() -> None:
    text = rpc_template("xmlrpc")
    by_name = text.replace(
        'params: ["{{ session.uid }}", "{{ settings.token }}", "{{ text }}"]', 'params: {text: "{{ text }}"}'
    )
    assert by_name != text
    assert "operations.search.request.xmlrpc.params: {'text': '{{ text }}'} is not of type 'array'" in problems(by_name)
    bad_path = text.replace('remember: {uid: "@"}', 'remember: {uid: "result["}')
    assert "session.remember.uid:" in problems(bad_path)
    no_remember = text.replace('  remember: {uid: "@"}\n', "")
    assert "session: 'remember' is missing (required)" in problems(no_remember)
