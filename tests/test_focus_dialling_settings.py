"""Focus dialling's switch on the Dialling page, and a session without an accessibility bus.

Without a D-Bus session (here: an Xvfb display and no session bus), or on another system, focus dialling
cannot watch the focused field: the page says why under its switch and the daemon goes on.
"""

from __future__ import annotations

import asyncio

import pytest

from partnercrmd import appkeys
from partnercrmd.config import DaemonConfig
from partnercrmd.platform.accessibility import NO_SESSION_BUS, NOT_YET, accessibility_problem
from partnercrmd.platform.screen import NO_DISPLAY
from tests.desktop_session import Desktop, run_daemon_on
from tests.ui_support import Client, log_in, page_text, post_form

SWITCH_LABEL = "Offer to dial a number in the text field I am typing in"
FIELDS = {
    "clipboard_dialling": "0",
    "screen_read_dialling": "0",
    "selection_dialling": "0",
    "default_region": "GB",
    "dial_format": "e164",
    "dial_outside_prefix": "",
    "dial_extension_lengths": "3,4",
}


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig, desktop: Desktop, monkeypatch: pytest.MonkeyPatch
) -> DaemonConfig:
    """A real X display but no D-Bus session: the accessibility bus cannot be reached."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return run_daemon_on(desktop, partnercrmd_config, monkeypatch)


async def test_the_dialling_page_switches_focus_dialling_on_and_says_what_is_missing(
    partnercrmd_client: Client,
) -> None:
    await log_in(partnercrmd_client, "dialling")
    page = await page_text(partnercrmd_client, "/ui/dialling")
    assert SWITCH_LABEL in page and 'name="focus_dialling"' in page
    assert 'name="focus_dialling" value="1" checked' not in page  # off by default
    assert "DBUS_SESSION_BUS_ADDRESS is not set" in page

    saved = await post_form(
        partnercrmd_client, "/ui/dialling/settings", {**FIELDS, "focus_dialling": ["0", "1"]}, page="/ui/dialling"
    )
    assert saved.status == 303
    config = partnercrmd_client.app[appkeys.CONFIG]
    assert config.focus_dialling
    focus = partnercrmd_client.app[appkeys.FOCUS_DIALLING]
    async with asyncio.timeout(5):
        while focus.problem is None:  # tried, and given up: the daemon goes on
            await asyncio.sleep(0.05)
    assert focus.problem == NO_SESSION_BUS and not focus.watching
    page = await page_text(partnercrmd_client, "/ui/dialling")
    assert 'name="focus_dialling" value="1" checked' in page

    saved = await post_form(partnercrmd_client, "/ui/dialling/settings", FIELDS, page="/ui/dialling")
    assert saved.status == 303 and not config.focus_dialling


def test_focus_dialling_says_what_each_system_lacks() -> None:
    linux = {"DISPLAY": ":0", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}
    assert accessibility_problem(linux, "linux") is None
    assert accessibility_problem({"DISPLAY": ":0"}, "linux") == NO_SESSION_BUS
    assert accessibility_problem({}, "linux") == NO_DISPLAY
    assert accessibility_problem(linux, "win32") == NOT_YET["win32"] and "UI Automation" in NOT_YET["win32"]
    assert accessibility_problem(linux, "darwin") == NOT_YET["darwin"] and "Accessibility" in NOT_YET["darwin"]
