"""The legacy configuration window is gone (issue #15 item 9): every window is its own page under /ui, and the
old catch-all `GET /ui/{window}` and its form `POST /ui/apps` no longer answer, so they cannot change anything."""

from __future__ import annotations

from partnercrmd import appkeys
from partnercrmd.client_apps import AppStatus
from partnercrmd.pages import WINDOWS
from partnercrmd.testing import ApiSession
from tests.ui_support import Client, csrf_of, log_in, page_text


async def test_the_old_application_form_no_longer_revokes_an_application(
    partnercrmd_client: Client, api: ApiSession
) -> None:
    await log_in(partnercrmd_client)
    token = csrf_of(await page_text(partnercrmd_client, "/ui/applications"))
    response = await partnercrmd_client.post(
        "/ui/apps", data={"csrf": token, "app_id": api.app_id, "decision": "revoke"}, allow_redirects=False
    )
    assert response.status == 404, await response.text()
    assert partnercrmd_client.app[appkeys.APPS].apps[api.app_id].status is AppStatus.APPROVED
    assert (await api.request("POST", "Search", query="Ada")).status == 200  # still allowed to use the API


async def test_every_window_is_its_own_page_and_no_other_name_answers(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    for window in WINDOWS:
        await page_text(partnercrmd_client, f"/ui/{window}")
    await page_text(partnercrmd_client, "/ui/window", status=404)
    await page_text(partnercrmd_client, "/ui/apps", status=404)
