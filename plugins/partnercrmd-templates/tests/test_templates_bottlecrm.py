"""The BottleCRM template (catalogue/bottlecrm.yaml) against the REAL BottleCRM server, through the daemon.

The behaviour tests of the hand-written add-in (plugins/partnercrmd-bottlecrm/tests/test_bottlecrm.py)
are imported and run here unchanged: pytest gives them this module's `book` fixture, a book of the
template integration. The few that name the add-in's integration id or its Python connector are
repeated below with the template's id. The server is that add-in's own fixture (its prepare.sh).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from partnercrmd.testing import (
    ApiSession,
    RecordingOpener,
    addin_host,
    book_connector,
    configure_book,
    remove_default_book,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "partnercrmd-bottlecrm" / "tests"))

import test_bottlecrm as hand_written  # type: ignore[import-not-found]
from bottlecrm_test_server import BottleCrmServer, Prepared  # type: ignore[import-not-found]

# The hand-written add-in's server fixtures, helpers and behaviour tests, reused as they are.
prepared = hand_written.prepared
bottlecrm = hand_written.bottlecrm
ids = hand_written.ids
WEB, WEB_EDIT = hand_written.WEB, hand_written.WEB_EDIT
action, names, only_record, search, settings = (
    hand_written.action,
    hand_written.names,
    hand_written.only_record,
    hand_written.search,
    hand_written.settings,
)
test_a_caller_is_found_whatever_the_number_format = hand_written.test_a_caller_is_found_whatever_the_number_format
test_name_search = hand_written.test_name_search
test_open_and_edit_pop_the_contact_in_bottlecrm = hand_written.test_open_and_edit_pop_the_contact_in_bottlecrm
test_a_logged_call_is_an_interaction_in_bottlecrm = hand_written.test_a_logged_call_is_an_interaction_in_bottlecrm
test_an_unanswered_outgoing_call_is_logged_as_no_answer = (
    hand_written.test_an_unanswered_outgoing_call_is_logged_as_no_answer
)
test_a_created_contact_is_in_bottlecrm_and_found_by_number = (
    hand_written.test_a_created_contact_is_in_bottlecrm_and_found_by_number
)
test_a_contact_needs_both_names = hand_written.test_a_contact_needs_both_names
test_a_saved_record_changes_the_contact_in_bottlecrm = hand_written.test_a_saved_record_changes_the_contact_in_bottlecrm

TEMPLATE_ID = "bottlecrm-template"


@pytest.fixture
async def book(api: ApiSession, partnercrmd_app: web.Application, bottlecrm: BottleCrmServer) -> str:
    """A book of the BottleCRM *template* (the daemon's sample book removed); its id."""
    await remove_default_book(partnercrmd_app)
    return await configure_book(
        partnercrmd_app, TEMPLATE_ID, **settings(bottlecrm, web_url_template=WEB, web_edit_url_template=WEB_EDIT)
    )


async def test_the_book_is_served_by_the_template_engine(partnercrmd_app: web.Application, book: str) -> None:
    from partnercrmd_templates.connector import TemplateBook

    assert isinstance(book_connector(partnercrmd_app, book), TemplateBook)
    provider = addin_host(partnercrmd_app).provider(TEMPLATE_ID)
    assert provider is not None and provider.distribution == "partnercrmd-templates"


async def test_a_contact_added_in_bottlecrm_later_is_found(
    api: ApiSession, book: str, bottlecrm: BottleCrmServer
) -> None:
    assert names((await search(api, "+44 117 496 0199"))[book]) == []
    bottlecrm.api().create_contact(first_name="Farah", last_name="Okafor", phone="0117-496-0199")
    assert names((await search(api, "+44 117 496 0199"))[book]) == ["Farah Okafor"]


async def test_without_web_addresses_the_contact_opens_on_partnercrmds_page(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, bottlecrm: BottleCrmServer
) -> None:
    book_id = await configure_book(partnercrmd_app, TEMPLATE_ID, **settings(bottlecrm))
    eamon = await only_record(api, book_id, "Eamon")
    await api.call("POST", "DoAction", actionId=action(eamon, "Open"))
    [url] = partnercrmd_opener.urls
    base = f"http://127.0.0.1:{api.client.port}"
    assert url.startswith(f"{base}/records/")
    page = await api.client.get(url.removeprefix(base))
    assert page.status == 200
    assert "212.736.5000" in await page.text()  # read from BottleCRM with the template's `get`


async def test_a_wrong_token_is_reported_without_showing_it(
    api: ApiSession, partnercrmd_app: web.Application, bottlecrm: BottleCrmServer
) -> None:
    wrong = "bcrm_pat_ThisIsNotAValidTokenAtAll0123456789abcdef"
    book_id = await configure_book(partnercrmd_app, TEMPLATE_ID, url=bottlecrm.url, token=wrong)
    for query in ("+44 20 7946 0958", "Dana"):
        text = (await search(api, query))[book_id]["ExceptionText"]
        assert text.startswith("BottleCRM refused to ") and "(403: Organization context is required" in text
        assert "Check the setting 'token'" in text and wrong not in text


async def test_a_server_stopped_mid_call_is_reported_within_the_deadline(
    api: ApiSession, partnercrmd_app: web.Application, prepared: Prepared, tmp_path: Path
) -> None:
    server = BottleCrmServer.start(prepared, tmp_path / "doomed")
    try:
        server.api().create_contact(first_name="Ivy", last_name="Stone", phone="020 7946 0321")
        book_id = await configure_book(partnercrmd_app, TEMPLATE_ID, **settings(server))
        assert names((await search(api, "+44 20 7946 0321"))[book_id]) == ["Ivy Stone"]
    finally:
        server.stop()
    for query in ("+44 20 7946 0321", "Ivy"):
        started = time.monotonic()
        answer = (await search(api, query, timeoutMs=1500))[book_id]
        assert time.monotonic() - started < 3
        assert answer["Records"] == []
        assert answer["ExceptionText"].startswith(f"BottleCRM (template) at {server.url} cannot be reached")
        assert "check the setting 'url' and that the server is running" in answer["ExceptionText"]


async def test_the_same_contacts_come_back_as_from_the_hand_written_add_in(
    api: ApiSession, partnercrmd_app: web.Application, book: str, bottlecrm: BottleCrmServer
) -> None:
    """Both integrations side by side on one server: every field of every seeded contact is the same."""
    hand_written = await configure_book(partnercrmd_app, "bottlecrm", name="Hand-written", **settings(bottlecrm))

    def shown(collection: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
        return [
            (r["DisplayText"], sorted((f["DescriptorId"], f["Value"]) for f in r["Fields"]))
            for r in collection["Records"]
        ]

    for query in ("+44 20 7946 0958", "Eamon", "+33 1 42 68 53 00", "zoe@contoso"):
        found = await search(api, query)
        assert found[book]["Records"], query
        assert shown(found[book]) == shown(found[hand_written]), query
