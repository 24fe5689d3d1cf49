"""The approval banner over HTTP: every configuration page shows a waiting `Register`; its Allow / Deny decide it.

These run with no notification service (no D-Bus session): the banner does not depend on one. The desktop
notification and a click on the banner in Chromium: tests/test_approval_where_the_user_is.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import pytest

from partnercrmd import appkeys
from partnercrmd.client_apps import AppStatus
from partnercrmd.config import DaemonConfig
from tests.ui_support import Client, csrf_of, log_in, page_text


@pytest.fixture
def partnercrmd_config(partnercrmd_config: DaemonConfig) -> DaemonConfig:
    """Registrations wait long enough for the user to answer on a page (the fixtures' default is 1 s)."""
    return dataclasses.replace(partnercrmd_config, registration_wait=30.0)


async def registering(client: Client, app_id: str, name: str) -> asyncio.Task[tuple[int, str]]:
    """A Register without the install token, waiting in a task until the registry shows it pending."""

    async def register() -> tuple[int, str]:
        response = await client.post("/api/v1/Register", data={"Name": name, "Id": app_id})
        return response.status, await response.text()

    task = asyncio.create_task(register())
    async with asyncio.timeout(10):
        while (record := client.app[appkeys.APPS].apps.get(app_id)) is None or record.status is not AppStatus.PENDING:
            await asyncio.sleep(0.02)
    return task


@pytest.mark.parametrize(("decision", "status", "code"), [("approve", 204, ""), ("deny", 403, "approval_denied")])
async def test_the_banner_on_every_page_decides_a_waiting_register(
    partnercrmd_client: Client, decision: str, status: int, code: str
) -> None:
    await log_in(partnercrmd_client)
    quiet = await page_text(partnercrmd_client, "/ui/about")
    assert "approval-banner" not in quiet
    task = await registering(partnercrmd_client, "crm-tab", "CRM <Tab>")
    for path in ("/ui/integrations", "/ui/dialling", "/ui/applications", "/ui/viewer", "/ui/about", "/ui/api"):
        html = await page_text(partnercrmd_client, path)
        assert "<strong>CRM &lt;Tab&gt;</strong> wants to use partnercrmd" in html, path
        assert '<button name="decision" value="approve" aria-label="Allow CRM &lt;Tab&gt;">Allow</button>' in html
    html = await page_text(partnercrmd_client, "/ui/callhistory")
    assert "wants to use partnercrmd" in html
    assert not task.done()
    answer = await partnercrmd_client.post(
        "/ui/applications",
        data={"csrf": csrf_of(html), "app_id": "crm-tab", "decision": decision},
        allow_redirects=False,
    )
    assert answer.status == 303
    got, body = await asyncio.wait_for(task, 10)
    assert got == status, body
    if code:
        assert f'"{code}"' in body
    assert "approval-banner" not in await page_text(partnercrmd_client, "/ui/about")


async def test_the_banner_needs_the_session_and_its_token(partnercrmd_client: Client) -> None:
    task = await registering(partnercrmd_client, "crm-tab", "CRM tab")
    without_session = await partnercrmd_client.get("/ui/about")
    assert without_session.status == 403
    assert "wants to use" not in await without_session.text()
    await log_in(partnercrmd_client)
    forged = await partnercrmd_client.post(
        "/ui/applications", data={"csrf": "not-the-token", "app_id": "crm-tab", "decision": "approve"}
    )
    assert forged.status == 403
    assert partnercrmd_client.app[appkeys.APPS].apps["crm-tab"].status is AppStatus.PENDING
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
