"""The template engine's own behaviour, through the daemon and the CLI, against a small local REST server:
templates in the user's folder, reloading an edited template, broken templates, rate limits (429 and
Retry-After), per-operation timeouts, pagination of every kind, and the dry-run trace."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from partnercrmd_templates import discover
from partnercrmd_templates.connector import RELOAD_CHECK_SECONDS, TemplateBook, TemplateSource
from partnercrmd_templates.loader import TemplateError, load_text

from partnercrmd.sdk import BookContext, SearchQuery
from partnercrmd.testing import ApiSession, addin_host, book_connector, configure_book, remove_default_book

TOKEN = "demo-secret-token-123456"
PEOPLE: list[dict[str, Any]] = [
    {"id": i, "name": name, "phone": phone}
    for i, (name, phone) in enumerate(
        [
            ("Ada Lovelace", "+44 20 7946 0100"),
            ("Alan Turing", "+44 20 7946 0101"),
            ("Grace Hopper", "+1 212 555 0102"),
            ("Hedy Lamarr", "+44 20 7946 0103"),
            ("Ada Yonath", "+972 2 555 0104"),
        ],
        start=1,
    )
]

DEMO = """\
format: 1
id: demo
name: Demo CRM
version: "1.0"
parameters:
  - {key: url, label: Address, type: url, required: true}
  - {key: token, label: Token, type: secret, required: true}
base_url: "{{ settings.url }}"
timeout_seconds: 5
rate_limit: {retries: 2, max_wait_seconds: 3}
auth:
  type: bearer
  token: "{{ settings.token }}"
error_message: message
operations:
  lookup:
    request:
      url: /people
      query: {phone: "{{ number }}"}
      timeout_seconds: 1
    response:
      records: items
      fields: &person
        Id: id
        ContactName: name
        BusinessPhone: phone
  search:
    request:
      url: /people
      query: {q: "{{ text }}"}
    response:
      records: items
      fields: *person
  log_call:
    request:
      method: POST
      url: "/people/{{ id }}/calls"
      json: {direction: "{{ call.direction }}", seconds: "{{ call.duration_seconds }}"}
    response: {id: id}
"""


@dataclass
class Demo:
    """A small CRM: `/people` by phone (last seven digits) or name, paged in every style a template knows."""

    server: TestServer | None = None
    limited: list[str] = field(default_factory=list)
    """Retry-After values of the next answers, each a 429."""
    slow: float = 0.0
    seen: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def people(self, request: web.Request) -> web.Response:
        self.seen.append(request.path_qs)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"message": "bad token"}, status=401)
        if self.limited:
            return web.json_response({"message": "slow down"}, status=429, headers={"Retry-After": self.limited.pop(0)})
        if self.slow:
            await asyncio.sleep(self.slow)
        query = request.query
        found = PEOPLE
        if "phone" in query:
            digits = "".join(c for c in query["phone"] if c.isdigit())[-7:]
            found = [p for p in PEOPLE if "".join(c for c in str(p["phone"]) if c.isdigit()).endswith(digits)]
        elif "q" in query:
            found = [p for p in PEOPLE if query["q"].lower() in p["name"].lower()]
        size = int(query.get("size", 1000))
        if "offset" in query:
            start = int(query["offset"])
        elif "page" in query:
            start = (int(query["page"]) - 1) * size
        else:
            start = int(query.get("cursor") or 0)
        chunk = found[start : start + size]
        more = start + size < len(found)
        answer: dict[str, Any] = {"items": chunk, "more": more, "cursor": str(start + size) if more else None}
        answer["next"] = str(request.url.update_query({"cursor": str(start + size)})) if more else None
        return web.json_response(answer)

    async def by_phone(self, request: web.Request) -> web.Response:
        """One person by exact number (as Front's GET /contacts/alt:phone:{number}): 404 when nobody has it."""
        self.seen.append(request.path_qs)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"message": "bad token"}, status=401)
        wanted = request.match_info["number"]
        for person in PEOPLE:
            if "+" + "".join(c for c in str(person["phone"]) if c.isdigit()) == wanted:
                return web.json_response(person)
        return web.json_response({"message": f"No person has {wanted}"}, status=404)

    async def graphql(self, request: web.Request) -> web.Response:
        """A real GraphQL server (graphql-core) over PEOPLE: 200 with `errors` for a query it refuses."""
        self.seen.append(request.path_qs)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"errors": [{"message": "Not Authenticated"}]}, status=401)
        body = await request.json()
        result = await graphql.graphql(
            DEMO_SCHEMA, body["query"], root_value=GraphQLRoot(), variable_values=body.get("variables")
        )
        return web.json_response(result.formatted)

    async def exact(self, request: web.Request) -> web.Response:
        """People whose `field` (phone or other_phone) is exactly `value`, as written: a CRM that matches one field
        and one format per query (Zoho's criteria)."""
        self.seen.append(request.path_qs)
        field, value = request.query["field"], request.query["value"]
        stored = {p["id"]: {"phone": p["phone"], "other_phone": OTHER_PHONES.get(int(p["id"]))} for p in PEOPLE}
        hits = [{**p, **stored[p["id"]]} for p in PEOPLE if stored[p["id"]][field] == value]
        return web.json_response({"items": hits})

    async def log(self, request: web.Request) -> web.Response:
        self.calls.append({"person": request.match_info["id"], **(await request.json())})
        return web.json_response({"id": "call-1"}, status=201)


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    crm = Demo()
    app = web.Application()
    app.router.add_get("/people", crm.people)
    app.router.add_post("/people/{id}/calls", crm.log)
    app.router.add_get("/people/by-phone/{number}", crm.by_phone)
    app.router.add_post("/graphql", crm.graphql)
    app.router.add_get("/people/exact", crm.exact)
    crm.server = TestServer(app, host="127.0.0.1", port=0)
    await crm.server.start_server()
    yield crm
    await crm.server.close()


@pytest.fixture(autouse=True)
def templates_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's template folder, with the demo template (before the daemon starts)."""
    folder = tmp_path / "user-templates"
    folder.mkdir()
    (folder / "demo.yaml").write_text(DEMO, encoding="utf-8")
    monkeypatch.setenv("PARTNERCRMD_TEMPLATES_DIR", str(folder))
    return folder


@pytest.fixture
async def book(templates_dir: Path, api: ApiSession, partnercrmd_app: web.Application, demo: Demo) -> str:
    await remove_default_book(partnercrmd_app)
    return await configure_book(partnercrmd_app, "demo", url=demo.url, token=TOKEN)


async def found(api: ApiSession, book: str, query: str) -> tuple[list[str], str]:
    [collection] = [c for c in await api.call("POST", "Search", query=query) if c["AddinId"] == book]
    return [r["DisplayText"] for r in collection["Records"]], collection["ExceptionText"]


async def edit(path: Path, text: str) -> None:
    """Write the file and let the book's change check come round (it looks at most every half second)."""
    await asyncio.sleep(RELOAD_CHECK_SECONDS + 0.05)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))


# --- the user's folder, reloading, broken templates ----------------------------------------------------


async def test_an_edited_template_applies_without_restarting(
    templates_dir: Path, api: ApiSession, book: str, partnercrmd_app: web.Application
) -> None:
    assert await found(api, book, "+44 20 7946 0100") == (["Ada Lovelace"], "")
    connector = book_connector(partnercrmd_app, book)
    await edit(templates_dir / "demo.yaml", DEMO.replace("ContactName: name", "ContactName: upper(name)"))
    assert await found(api, book, "+44 20 7946 0100") == (["ADA LOVELACE"], "")
    assert book_connector(partnercrmd_app, book) is connector  # the same book, not reopened

    # An edit that breaks the template: the book says what is wrong, the daemon goes on.
    await edit(
        templates_dir / "demo.yaml",
        DEMO.replace("      url: /people\n      query: {q:", "      url: 7\n      query: {q:"),
    )
    names, error = await found(api, book, "Ada")
    assert names == []
    assert error.startswith(f"The template was changed and is now broken: {templates_dir / 'demo.yaml'}:")
    assert "operations.search.request.url: 7 is not of type 'string'" in error

    await edit(templates_dir / "demo.yaml", DEMO)
    assert await found(api, book, "Ada") == (["Ada Lovelace", "Ada Yonath"], "")


async def test_a_template_edited_after_the_start_and_before_its_first_book_opens_is_read_again(
    templates_dir: Path, tmp_path: Path, demo: Demo
) -> None:
    """The daemon reads every template at its start but compiles one only when a book of it opens: the compile
    must be of the file as it is then, not as it was read at the start."""
    [integration] = [i for i in discover().integrations if i.id == "demo"]
    await edit(templates_dir / "demo.yaml", DEMO.replace("ContactName: name", "ContactName: upper(name)"))
    connector = integration.open(BookContext("b", "demo", {"url": demo.url, "token": TOKEN}, tmp_path, "GB"))
    assert isinstance(connector, TemplateBook)
    try:
        assert [c.name for c in await connector.search(SearchQuery("Alan", limit=5))] == ["ALAN TURING"]
    finally:
        await connector.close()


async def test_a_template_added_while_the_daemon_runs_can_be_configured(
    templates_dir: Path, api: ApiSession, partnercrmd_app: web.Application, demo: Demo
) -> None:
    await remove_default_book(partnercrmd_app)
    (templates_dir / "later.yaml").write_text(DEMO.replace("id: demo", "id: later"), encoding="utf-8")
    # As `partnercrmd books add later` does, in another process that finds the new file.
    integration = next(i for i in discover().integrations if i.id == "later")
    book_id = await configure_book(partnercrmd_app, integration, url=demo.url, token=TOKEN)
    assert await found(api, book_id, "Alan") == (["Alan Turing"], "")


async def test_a_broken_template_is_listed_with_its_problem_and_never_stops_the_others(
    templates_dir: Path, api: ApiSession, partnercrmd_app: web.Application
) -> None:
    (templates_dir / "broken.yaml").write_text(
        DEMO.replace("id: demo", "id: broken").replace("type: bearer", "type: bearr")
    )
    await asyncio.to_thread(addin_host(partnercrmd_app).collect_integrations)
    listed = {i["Id"]: i for i in await api.call("GET", "Integrations")}
    assert {"demo", "hubspot", "salesforce", "bottlecrm-template"} <= set(listed)
    assert listed["broken"]["Name"] == "broken (broken template)" and listed["broken"]["Capabilities"] == []
    assert listed["broken"]["Description"].startswith(
        f"The template broken.yaml cannot be used: {templates_dir}/broken.yaml:12: auth.type: 'bearr' is not one of"
    )
    book = await configure_book(partnercrmd_app, "broken")
    [collection] = [c for c in await api.call("POST", "Search", query="Ada") if c["AddinId"] == book]
    assert "The template broken.yaml cannot be used" in collection["ExceptionText"]


# --- rate limits and deadlines ---------------------------------------------------------------------------


async def test_a_429_is_waited_out_as_retry_after_asks(api: ApiSession, book: str, demo: Demo) -> None:
    demo.limited = ["1"]
    started = time.monotonic()
    assert await found(api, book, "Grace") == (["Grace Hopper"], "")
    assert time.monotonic() - started >= 1.0
    assert len(demo.seen) == 2


async def test_a_retry_after_beyond_the_templates_patience_is_reported_at_once(
    api: ApiSession, book: str, demo: Demo
) -> None:
    demo.limited = ["120"]
    started = time.monotonic()
    names, error = await found(api, book, "Grace")
    assert (
        names == []
        and error == "Demo CRM is limiting requests (429) and would not search contacts by name; try again shortly."
    )
    assert time.monotonic() - started < 1.0


async def test_each_operation_keeps_its_own_timeout(api: ApiSession, book: str, demo: Demo) -> None:
    demo.slow = 3.0
    started = time.monotonic()
    names, error = await found(api, book, "+44 20 7946 0101")  # lookup: timeout_seconds 1
    assert names == [] and error.startswith(f"Demo CRM at {demo.url} did not answer within 1 s")
    assert time.monotonic() - started < 2.5


async def test_a_wrong_token_is_reported_without_showing_it(
    templates_dir: Path, api: ApiSession, partnercrmd_app: web.Application, demo: Demo
) -> None:
    wrong = "demo-wrong-token-987654"
    book = await configure_book(partnercrmd_app, "demo", url=demo.url, token=wrong)
    names, error = await found(api, book, "Ada")
    assert names == [] and wrong not in error
    assert error == "Demo CRM refused to search contacts by name (401: bad token). Check the setting 'token'."


# --- pagination ------------------------------------------------------------------------------------------

PAGINATIONS = {
    "offset": ("{offset: '{{ page.offset }}', size: '{{ page.size }}'}", "{type: offset, size: 2}"),
    "page": ("{page: '{{ page.number }}', size: '{{ page.size }}'}", "{type: page, size: 2, more: more}"),
    "cursor": ("{cursor: '{{ page.cursor }}', size: '{{ page.size }}'}", "{type: cursor, size: 2, next: cursor}"),
    "next_url": ("{size: 2}", "{type: next_url, next: next}"),
}


@pytest.mark.parametrize("kind", sorted(PAGINATIONS))
async def test_every_kind_of_pagination_reads_the_pages_it_needs(tmp_path: Path, demo: Demo, kind: str) -> None:
    query, paging = PAGINATIONS[kind]
    text = DEMO.replace('      query: {q: "{{ text }}"}', f"      query: {query}").replace(
        "    response:\n      records: items\n      fields: *person",
        f"    pagination: {paging}\n    response:\n      records: items\n      fields: *person",
    )
    path = tmp_path / "paged.yaml"
    path.write_text(text, encoding="utf-8")
    connector = TemplateBook(
        BookContext("b", "B", {"url": demo.url, "token": TOKEN}, tmp_path, "GB"),
        TemplateSource(path, load_text(text, str(path))),
    )
    try:
        everyone = await connector.search(SearchQuery("a", limit=10))
        assert [c.name for c in everyone] == [str(p["name"]) for p in PEOPLE]
        assert len(demo.seen) == 3  # pages of 2, 2 and 1
        demo.seen.clear()
        assert len(await connector.search(SearchQuery("a", limit=3))) >= 3
        assert len(demo.seen) == 2  # enough after two pages
    finally:
        await connector.close()


# --- the dry-run trace -----------------------------------------------------------------------------------


async def run_cli(*args: str, home: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "partnercrmd",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PARTNERCRMD_HOME": str(home)},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_template_try_traces_each_request_with_secrets_masked(tmp_path: Path, demo: Demo) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO, encoding="utf-8")
    code, out, err = await run_cli(
        "template", "try", str(path), "--op", "lookup", "--number", "020 7946 0103",
        "--set", f"url={demo.url}", "--set", f"token={TOKEN}", home=tmp_path / "home",
    )  # fmt: skip
    assert code == 0, err
    assert TOKEN not in out
    assert f"--> request 1: GET {demo.url}/people?phone=%2B442079460103" in out
    assert "    Authorization: ***" in out
    assert "<-- 200" in out and '"name": "Hedy Lamarr"' in out
    assert "mapped: lookup: 1 record(s) in the answer" in out
    assert "mapped: record 4 -> 'Hedy Lamarr' {'ContactName': 'Hedy Lamarr', 'BusinessPhone': '+44 20 7946 0103'" in out
    assert out.rstrip().endswith("1 record(s):\n  4: Hedy Lamarr |  | BusinessPhone=+44 20 7946 0103 |")


async def test_template_try_shows_but_does_not_send_writes_without_send(tmp_path: Path, demo: Demo) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO, encoding="utf-8")
    common = ["template", "try", str(path), "--op", "log_call", "--id", "4", "--set", f"url={demo.url}"]
    code, out, _ = await run_cli(*common, "--set", f"token={TOKEN}", home=tmp_path / "home")
    assert code == 0 and demo.calls == []
    assert f"--> request 1: POST {demo.url}/people/4/calls" in out and '"direction": "Inbound"' in out
    assert "(not sent: a dry run of an operation that writes; give --send to send it)" in out
    code, out, _ = await run_cli(*common, "--set", f"token={TOKEN}", "--send", home=tmp_path / "home")
    assert code == 0 and demo.calls == [{"person": "4", "direction": "Inbound", "seconds": 65}]
    assert out.rstrip().endswith("logged: call-1")


async def test_template_try_reports_failures_and_bad_usage(tmp_path: Path, demo: Demo) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO, encoding="utf-8")
    code, out, _ = await run_cli(
        "template", "try", str(path), "--op", "search", "--text", "Ada", "--set", f"url={demo.url}",
        "--set", "token=wrong-token-abcdef", home=tmp_path / "home",
    )  # fmt: skip
    assert code == 1 and "wrong-token-abcdef" not in out
    assert out.rstrip().endswith(
        "FAILED: Demo CRM refused to search contacts by name (401: bad token). Check the setting 'token'."
    )
    code, _, err = await run_cli(
        "template", "try", str(path), "--op", "lookup", "--set", "colour=red", home=tmp_path / "home"
    )
    assert code == 2 and "The template has no parameter 'colour' (it has: url, token)." in err
    settings = ["--set", f"url={demo.url}", "--set", f"token={TOKEN}"]
    code, _, err = await run_cli("template", "try", str(path), "--op", "lookup", *settings, home=tmp_path / "home")
    assert code == 2 and "--op lookup needs --number." in err


async def test_the_trace_of_an_oauth_template_shows_no_token(tmp_path: Path) -> None:
    """Dynamics 365 from the catalogue (by its id), signing in with client credentials: the token answer is masked."""
    import crm_dynamics

    crm = crm_dynamics.build()
    await crm.start()
    try:
        sets = [f"--set={k}={v}" for k, v in crm_dynamics.settings(crm).items()]
        code, out, err = await run_cli(
            "template", "try", "dynamics365", "--op", "search", "--text", "Dana", *sets, home=tmp_path / "home"
        )
        assert code == 0, err
        assert f"--> request 1: POST {crm.url}/{crm_dynamics.TENANT}/oauth2/v2.0/token" in out
        assert '"access_token": "***"' in out and '"client_secret": "***"' in out
        assert crm.access_tokens and not any(token in out for token in crm.access_tokens)
        assert crm.oauth is not None and crm.oauth.client_secret not in out
        assert "    Authorization: ***" in out and out.rstrip().endswith(
            "Dana Whitfield | Northwind Traders | BusinessPhone=+44 (0)20 7946-0958 | dana.whitfield@northwind.example"
        )
    finally:
        await crm.stop()


# --- pieces, without a daemon ----------------------------------------------------------------------------


def test_number_forms_a_template_can_ask_for() -> None:
    from partnercrmd_templates.connector import number_context

    assert number_context("+442079460958", "GB", 7) == {
        "e164": "+442079460958",
        "e164_digits": "442079460958",
        "digits": "442079460958",
        "international": "+44 20 7946 0958",
        "national": "020 7946 0958",
        "national_digits": "02079460958",
        "nsn": "2079460958",
        "last": "9460958",
    }
    us = number_context("+12127365000", "GB", 4)
    assert (us["national"], us["nsn"], us["last"]) == ("(212) 736-5000", "2127365000", "5000")


def test_conditional_parameters_are_required_only_when_they_apply() -> None:
    from partnercrmd_templates.settings import settings_with_defaults

    from partnercrmd.sdk import ConfigError

    data = load_text(
        DEMO.replace(
            "  - {key: token, label: Token, type: secret, required: true}",
            "  - {key: token, label: Token, type: secret, required: true}\n"
            "  - {key: log_calls, label: Log calls, type: bool, default: false}\n"
            "  - {key: subject, label: Call subject, required: true, when: settings.log_calls}",
        ),
        "demo.yaml",
    ).data
    assert settings_with_defaults(data, {"url": "http://x", "token": "t"})["log_calls"] is False
    with pytest.raises(ConfigError, match=r"The setting 'subject' \(Call subject\) is required."):
        settings_with_defaults(data, {"url": "http://x", "token": "t", "log_calls": True})
    with pytest.raises(ConfigError, match=r"The setting 'token' \(Token\) is required."):
        settings_with_defaults(data, {"url": "http://x"})


async def test_test_connection_says_what_works_and_what_does_not(tmp_path: Path, demo: Demo) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO, encoding="utf-8")
    for token, expected in [
        (TOKEN, [("reach", True), ("search", True)]),
        ("demo-wrong-token-987654", [("reach", True), ("authenticate", False)]),
    ]:
        connector = TemplateBook(
            BookContext("b", "B", {"url": demo.url, "token": token}, tmp_path, "GB"),
            TemplateSource(path, load_text(DEMO, str(path))),
        )
        try:
            results = await connector.test()
        finally:
            await connector.close()
        assert [(r.check, r.ok) for r in results] == expected
    assert (
        results[1].message
        == "Demo CRM refused to search contacts by number (401: bad token). Check the setting 'token'."
    )


# --- a 404 that means "nobody has this number" -------------------------------------------------------------

BY_PHONE_LOOKUP = """\
  lookup:
    request:
      url: "/people/by-phone/{{ numbers.e164 }}"
    not_found_means: no_match
    response:
      records: "[@]"
      fields: &person
        Id: id
        ContactName: name
        BusinessPhone: phone
"""
DEMO_LOOKUP = DEMO[DEMO.index("  lookup:") : DEMO.index("  search:")]


async def test_a_404_that_the_lookup_declares_no_match_is_an_empty_result(
    templates_dir: Path, api: ApiSession, book: str, demo: Demo, partnercrmd_app: web.Application
) -> None:
    await edit(templates_dir / "demo.yaml", DEMO.replace(DEMO_LOOKUP, BY_PHONE_LOOKUP))
    assert await found(api, book, "020 7946 0101") == (["Alan Turing"], "")
    assert await found(api, book, "+44 20 7946 0999") == ([], "")  # the 404: nobody, and no error
    assert demo.seen[-1] == "/people/by-phone/%2B442079460999"

    # Without the declaration a 404 stays what it is elsewhere: an error the book reports.
    await edit(templates_dir / "demo.yaml", DEMO.replace(DEMO_LOOKUP, BY_PHONE_LOOKUP.replace("no_match", "error")))
    names, error = await found(api, book, "+44 20 7946 0999")
    assert names == [] and "404" in error and "No person has +442079460999" in error, error

    # The declaration covers 404 only: a refused token is still reported.
    await edit(templates_dir / "demo.yaml", DEMO.replace(DEMO_LOOKUP, BY_PHONE_LOOKUP))
    other = await configure_book(partnercrmd_app, "demo", name="Wrong token", url=demo.url, token="wrong-token-0000")
    names, error = await found(api, other, "+44 20 7946 0999")
    assert names == [] and "refused" in error, error


async def test_a_misspelt_not_found_meaning_is_a_broken_template(templates_dir: Path) -> None:
    with pytest.raises(TemplateError) as broken:
        load_text(DEMO.replace(DEMO_LOOKUP, BY_PHONE_LOOKUP.replace("no_match", "empty")), "demo.yaml")
    assert "not_found_means: 'empty' is not one of ['no_match', 'error']" in str(broken.value)


# --- GraphQL operations -------------------------------------------------------------------------------------

DEMO_SCHEMA = graphql.build_schema(
    """
    type Person { id: ID! name: String! phone: String }
    type Query { people_by_phone(phone: String!): [Person!]! people_named(text: String!): [Person!]! }
    """
)


class GraphQLRoot:
    """The demo schema's root fields over PEOPLE (graphql-core's default resolver calls these methods)."""

    def people_by_phone(self, info: graphql.GraphQLResolveInfo, phone: str) -> list[dict[str, Any]]:
        digits = "".join(c for c in phone if c.isdigit())[-7:]
        return [p for p in PEOPLE if "".join(c for c in str(p["phone"]) if c.isdigit()).endswith(digits)]

    def people_named(self, info: graphql.GraphQLResolveInfo, text: str) -> list[dict[str, Any]]:
        return [p for p in PEOPLE if text.lower() in str(p["name"]).lower()]


GRAPHQL_OPERATIONS = """\
  lookup:
    request:
      url: /graphql
      graphql:
        query: "query ($phone: String!) { people_by_phone(phone: $phone) { id name phone } }"
        variables: {phone: "{{ number }}"}
    response:
      records: data.people_by_phone
      fields: &person
        Id: id
        ContactName: name
        BusinessPhone: phone
  search:
    request:
      url: /graphql
      graphql:
        query: "query ($text: String!) { people_named(text: $text) { id name phone } }"
        variables: {text: "{{ text }}"}
    response:
      records: data.people_named
      fields: *person
"""
DEMO_GRAPHQL = DEMO[: DEMO.index("  lookup:")] + GRAPHQL_OPERATIONS + DEMO[DEMO.index("  log_call:") :]


async def test_graphql_operations_send_the_query_with_variables_and_read_the_data(
    templates_dir: Path, api: ApiSession, book: str, demo: Demo
) -> None:
    await edit(templates_dir / "demo.yaml", DEMO_GRAPHQL)
    assert await found(api, book, "+44 20 7946 0103") == (["Hedy Lamarr"], "")
    assert await found(api, book, "ada") == (["Ada Lovelace", "Ada Yonath"], "")
    # A value goes in as a variable, never into the document: quotes and braces in it are only text.
    assert await found(api, book, 'ada") { id } #') == ([], "")
    assert demo.seen[-1] == "/graphql"


async def test_graphql_errors_are_the_books_error_even_with_200(
    templates_dir: Path, api: ApiSession, book: str, demo: Demo
) -> None:
    await edit(
        templates_dir / "demo.yaml",
        DEMO_GRAPHQL.replace("people_named(text: $text) { id name", "people_named(text: $text) { id nme"),
    )
    names, error = await found(api, book, "Ada")
    assert names == []
    assert error == (
        "Demo CRM refused the query to search contacts by name "
        "(GraphQL: Cannot query field 'nme' on type 'Person'. Did you mean 'name'?)."
    ), error


def test_a_graphql_request_takes_no_json_body_beside_it() -> None:
    both = DEMO_GRAPHQL.replace(
        '      url: /graphql\n      graphql:\n        query: "query ($text',
        '      url: /graphql\n      json: {a: 1}\n      graphql:\n        query: "query ($text',
    )
    assert both != DEMO_GRAPHQL
    with pytest.raises(TemplateError) as broken:
        load_text(both, "demo.yaml")
    assert "operations.search.request" in str(broken.value)


# --- several queries per lookup, with a budget ----------------------------------------------------------------

OTHER_PHONES = {1: "+442079460100", 2: "+44 20 7946 0100"}
"""Ada's other phone is her own number in E.164; Alan's (a shared line) is Ada's number as Ada wrote hers."""
EACH_FIELD_AND_FORM = """\
  lookup:
    forms: [e164, international]
    phone_fields: [phone, other_phone]
    request:
      url: /people/exact
      query: {field: "{{ phone_field }}", value: "{{ number }}"}
    response:
      records: items
      fields: &person
        Id: id
        ContactName: name
        BusinessPhone: phone
        OtherPhone: other_phone
"""


async def test_a_lookup_asks_each_phone_field_in_each_form_and_merges_best_first(
    templates_dir: Path, api: ApiSession, book: str, demo: Demo
) -> None:
    await edit(templates_dir / "demo.yaml", DEMO.replace(DEMO_LOOKUP, EACH_FIELD_AND_FORM))
    before = len(demo.seen)
    # Ada is found by her other phone in E.164 (the 2nd query) and again by her phone as written (the 3rd): once,
    # first; Alan, whose other phone holds the same number as written, after her (the 4th query).
    assert await found(api, book, "020 7946 0100") == (["Ada Lovelace", "Alan Turing"], "")
    assert demo.seen[before:] == [
        "/people/exact?field=phone&value=%2B442079460100",
        "/people/exact?field=other_phone&value=%2B442079460100",
        "/people/exact?field=phone&value=%2B44+20+7946+0100",
        "/people/exact?field=other_phone&value=%2B44+20+7946+0100",
    ]


async def test_a_lookups_budget_stops_its_queries(templates_dir: Path, api: ApiSession, book: str, demo: Demo) -> None:
    budgeted = EACH_FIELD_AND_FORM.replace("    phone_fields:", "    budget: 2\n    phone_fields:")
    await edit(templates_dir / "demo.yaml", DEMO.replace(DEMO_LOOKUP, budgeted))
    before = len(demo.seen)
    # Two queries (E.164 in both fields) and no more: Ada by her other phone; Alan's match needed the third.
    assert await found(api, book, "020 7946 0100") == (["Ada Lovelace"], "")
    assert [path.split("&")[0] for path in demo.seen[before:]] == [
        "/people/exact?field=phone",
        "/people/exact?field=other_phone",
    ]
