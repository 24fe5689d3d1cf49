"""The daemon's own record page: view, edit (only what changed reaches the backend), start-up work of books."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

import pytest
from aiohttp import web

from partnercrmd import appkeys, hookimpl
from partnercrmd.integration import BookContext, Capability, Connector, Integration
from partnercrmd.model import Contact, ContactPatch, Phone, SearchQuery
from partnercrmd.testing import ApiSession, RecordingOpener, configure_book
from tests.ui_support import csrf_of

DANA = Contact(id="d1", display_name="Dana Whitfield", company="Acme", phones=[Phone("+44 20 7946 0958")], notes="a\nb")


class Recording(Connector):
    patches: ClassVar[list[ContactPatch]] = []
    started: ClassVar[asyncio.Event]
    stopped: ClassVar[bool] = False

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        return [DANA]

    async def get(self, contact_id: str) -> Contact | None:
        return DANA if contact_id == DANA.id else None

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        Recording.patches.append(patch)
        return patch.apply_to(DANA)

    async def start(self) -> None:
        Recording.started.set()
        try:
            await asyncio.sleep(3600)  # a long first index read
        except asyncio.CancelledError:
            Recording.stopped = True
            raise


class RecordingAddin:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        caps = frozenset({Capability.SEARCH_NAME, Capability.POP, Capability.POP_EDIT, Capability.UPDATE_CONTACT})
        return [Integration(id="recording", name="Recording", version="1", open=_open, capabilities=caps)]


def _open(context: BookContext) -> Connector:
    return Recording()


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    Recording.patches = []
    Recording.started = asyncio.Event()
    Recording.stopped = False
    return [("recording", RecordingAddin())]


async def edit_page(api: ApiSession, opener: RecordingOpener, book_id: str) -> tuple[str, str]:
    collections = await api.call("POST", "Search", query="dana")
    record = next(c for c in collections if c["AddinId"] == book_id)["Records"][0]
    edit = next(a["ActionId"] for a in record["Actions"] if a["SpecialKind"] == "OpenInEditMode")
    await api.call("POST", "DoAction", actionId=edit)
    path = opener.urls[-1].split(str(api.client.port), 1)[1]
    html = await (await api.client.get(path)).text()
    return path, csrf_of(html)


async def test_edit_form_sends_only_what_the_user_changed(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    book_id = await configure_book(partnercrmd_app, "recording")
    path, csrf = await edit_page(api, partnercrmd_opener, book_id)
    form = {
        "csrf": csrf,
        "display_name": "Dana Whitfield",
        "first_name": "",
        "last_name": "",
        "company": "Acme Ltd",
        "email": "",
        "phone": "+44 20 7946 0958",
        "notes": "a\r\nb",
    }
    response = await api.client.post(
        path,
        data=form,
        allow_redirects=False,
        headers={"Origin": api.client.make_url("").origin().human_repr().rstrip("/")},
    )
    assert response.status == 303
    assert Recording.patches == [ContactPatch(company="Acme Ltd")]


async def test_edit_form_without_its_token_is_refused(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener
) -> None:
    book_id = await configure_book(partnercrmd_app, "recording")
    path, _ = await edit_page(api, partnercrmd_opener, book_id)
    response = await api.client.post(path, data={"csrf": "forged", "company": "Evil"}, allow_redirects=False)
    assert response.status == 403
    assert Recording.patches == []


async def test_start_up_work_runs_in_the_background_and_stops_with_the_book(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await configure_book(partnercrmd_app, "recording")
    await asyncio.wait_for(Recording.started.wait(), 2)
    collections = await api.call("POST", "Search", query="dana")  # answers while start() still runs
    assert any(c["Records"] for c in collections if c["AddinId"] == "recording")
    await partnercrmd_app[appkeys.BOOKS].close()
    assert Recording.stopped
