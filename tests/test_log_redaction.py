"""One redacting log filter (issue #14, item 5): no add-in can put a book's secret into the log.

The daemon attaches `LOG_REDACTOR` to every log handler it sets up; these tests attach it to a
handler of their own in the same way and run real add-ins through the HTTP API of a real app:

- `leaky` (tests/leaky_addin.py), an add-in that forgets every rule: it logs its password as an
  argument, inside the message, percent-encoded in a URL, JSON-escaped, in HTTP Basic credentials,
  in a traceback, from a worker thread, and a session id it obtains at run time (told to the host
  with `BookContext.add_secret`); also in `partnercrmd books test`, a process of its own;
- the BottleCRM add-in against a server that refuses the token and quotes the request back: the
  audit found its number-index refresh logging `Bearer bcrm_pat_…` in plain text.

tests/test_secrets_sweep.py does the same for every add-in against a real `partnercrmd serve`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import change_book
from partnercrmd.testing import ApiSession, configure_book, remove_default_book
from partnercrmd.vault_sync import reload_vault
from tests import leaky_addin
from tests.daemon_process import describe, run_cli
from tests.echo_server import EchoServer

USER = "leaky.user@example.com"
PASSWORD = 'Leaky/Pass+word=&"<1'
"""'/', '+', '=', '&', '"' and '<': percent-encoding, JSON and HTML each write it differently."""


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("leaky", leaky_addin)]


def written_forms(secret: str, user: str = "") -> dict[str, str]:
    """The ways a secret may be written into a log line."""
    forms = {
        "as is": secret,
        "percent-encoded": quote(secret, safe=""),
        "JSON-escaped": json.dumps(secret)[1:-1],
        "repr-escaped": repr(secret)[1:-1],
    }
    if user:
        forms["in HTTP Basic credentials"] = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return forms


def assert_absent(secret: str, text: str, where: str, user: str = "") -> None:
    found = {name: form for name, form in written_forms(secret, user).items() if form in text}
    assert not found, f"{where} holds the secret {', '.join(found)}:\n{text}"


async def search_failure(api: ApiSession, book_id: str, query: str = "Whitfield") -> str:
    collections = await api.call("POST", "Search", query=query, timeoutMs=10_000)
    [collection] = [c for c in collections if c["AddinId"] == book_id]
    text = str(collection["ExceptionText"])
    assert text, collection
    return text


async def leaky_book(app: web.Application, password: str = PASSWORD) -> str:
    await remove_default_book(app)
    return await configure_book(app, "leaky", name="Leaky CRM", username=USER, password=password)


async def wait_for_line(log_file: io.StringIO, text: str) -> str:
    for _ in range(200):
        if text in log_file.getvalue():
            return log_file.getvalue()
        await asyncio.sleep(0.05)
    raise AssertionError(f"no log line with {text!r} in:\n{log_file.getvalue()}")


async def test_whatever_an_addin_logs_its_secret_is_masked(
    api: ApiSession, partnercrmd_app: web.Application, log_file: io.StringIO
) -> None:
    book_id = await leaky_book(partnercrmd_app)
    exception_text = await search_failure(api, book_id)
    written = await wait_for_line(log_file, "still using session")
    assert_absent(PASSWORD, written, "the log", user=USER)
    assert_absent(PASSWORD, exception_text, "the ExceptionText")
    # Every line is still there, with the secret masked: the message, arguments and traceback.
    assert f"signing in as {USER} with ***" in written
    assert "password=***" in written
    assert "api/people?key=***" in written
    assert '"password": "***"' in written
    assert "ConnectionError: the server refused '***'" in written
    assert "Authorization: Basic ***" in written


async def test_a_secret_an_addin_obtains_at_run_time_is_masked_in_the_log_and_the_answer(
    api: ApiSession, partnercrmd_app: web.Application, log_file: io.StringIO
) -> None:
    book_id = await leaky_book(partnercrmd_app)
    await wait_for_line(log_file, "signed in; session ***")
    exception_text = await search_failure(api, book_id)
    written = await wait_for_line(log_file, "still using session ***")
    assert "session-" not in written and "session-" not in exception_text
    assert "(session ***)" in exception_text


async def test_a_changed_password_is_masked_from_the_moment_the_book_reopens(
    api: ApiSession, partnercrmd_app: web.Application, log_file: io.StringIO
) -> None:
    book_id = await leaky_book(partnercrmd_app)
    changed = f"Changed-{secrets.token_hex(8)}"
    await asyncio.to_thread(
        change_book, partnercrmd_app[appkeys.VAULT], partnercrmd_app[appkeys.HOST], book_id, {"password": changed}
    )
    await reload_vault(partnercrmd_app)
    exception_text = await search_failure(api, book_id)
    written = await wait_for_line(log_file, "still using session")
    assert_absent(changed, written, "the log", user=USER)
    assert_absent(changed, exception_text, "the ExceptionText")


async def test_the_bottlecrm_number_index_refresh_logs_no_token(
    api: ApiSession, partnercrmd_app: web.Application, log_file: io.StringIO
) -> None:
    token = f'bcrm_pat_{secrets.token_hex(12)}/+="<'
    with EchoServer(401) as bottlecrm:  # refuses the token and quotes the request (its headers) back
        await remove_default_book(partnercrmd_app)
        book_id = await configure_book(partnercrmd_app, "bottlecrm", name="BottleCRM", url=bottlecrm.url, token=token)
        exception_text = await search_failure(api, book_id, "+44 20 7946 0958")
        written = await wait_for_line(log_file, "Refreshing the BottleCRM number index failed")
    assert "Authorization: Bearer ***" in written
    assert_absent(token, written, "the log")
    assert_absent(token, exception_text, "the ExceptionText")


def test_books_test_on_the_command_line_masks_what_the_addin_logs(tmp_path: Path) -> None:
    """`partnercrmd books test` runs the add-in in a process with no log set-up: its records reach stderr masked."""
    home, site = tmp_path / "home", leaky_addin.entry_point_site(tmp_path / "site")
    added = run_cli(
        home, "books", "add", "leaky", "--set", f"username={USER}", "--set", f"password={PASSWORD}", extra_env=site
    )
    assert added.returncode == 0, describe(added)
    tested = run_cli(home, "books", "test", "leaky", extra_env=site)
    assert tested.returncode == 1, describe(tested)
    assert "FAIL authenticate: The CRM refused ***." in tested.stdout
    assert "password=***" in tested.stderr and "Authorization: Basic ***" in tested.stderr, describe(tested)
    assert_absent(PASSWORD, tested.stdout + tested.stderr, "`partnercrmd books test`", user=USER)
