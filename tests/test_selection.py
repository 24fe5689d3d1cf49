"""Selection dialling on a real X display (Xvfb): highlighted text, the PRIMARY selection, read with real xclip.

Another program owns the PRIMARY selection (`xclip -selection primary`), the selection
hotkey is pressed with xdotool and seen by the daemon's pynput listener: one number
becomes a MakeCallRequest (Source Selection), several a DialOffer; the setting switched
off, the hotkey does nothing; the selected text never reaches the log.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Callable

import pytest

from partnercrmd import appkeys
from partnercrmd.config import DaemonConfig
from partnercrmd.dialling.hotkeys import (
    MAX_SELECTION_BYTES,
    Chord,
    ChordTracker,
    read_primary_selection,
)
from partnercrmd.dialling.platform_support import selection_problem
from partnercrmd.testing import ApiSession, next_event
from tests.desktop_session import Desktop, run_daemon_on

WAIT = 5.0
HOTKEY = "ctrl+alt+d"


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig, desktop: Desktop, monkeypatch: pytest.MonkeyPatch
) -> DaemonConfig:
    """The daemon runs in the Xvfb session, with selection dialling on."""
    run_daemon_on(desktop, partnercrmd_config, monkeypatch).selection_dialling = True
    return partnercrmd_config


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.02)


def select(desktop: Desktop, text: str) -> None:
    """Highlight `text` in another program (xclip owns PRIMARY from a process it forks: wait until it does)."""
    desktop.set_clipboard(text, "primary")
    for _ in range(100):
        read = subprocess.run(["xclip", "-selection", "primary", "-o"], env=desktop.env, capture_output=True, text=True)
        if read.stdout == text:
            return
        time.sleep(0.02)
    raise AssertionError("xclip did not take the PRIMARY selection")


async def select_and_press(api: ApiSession, desktop: Desktop, text: str) -> None:
    """Highlight `text`, then press the selection hotkey once the daemon listens."""
    await wait_until(lambda: api.client.app[appkeys.DESKTOP_HOTKEYS].listening)
    await asyncio.to_thread(select, desktop, text)
    await asyncio.to_thread(desktop.run, "xdotool", "key", HOTKEY)


async def test_the_hotkey_dials_the_selected_number(
    api: ApiSession, desktop: Desktop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await select_and_press(api, desktop, "020 7946 0958")
        event = await next_event(ws, "MakeCallRequest")
    assert event == {
        "EventType": "MakeCallRequest",
        "Source": "Selection",
        "Destination": "+442079460958",
        "E164": "+442079460958",
        "DisplayNumber": "020 7946 0958",
    }
    assert "7946" not in caplog.text  # the selection is never logged


async def test_several_selected_numbers_are_offered(api: ApiSession, desktop: Desktop) -> None:
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await select_and_press(api, desktop, "Sales: 020 7946 0958\nSupport: +1 212-736-5000")
        event = await next_event(ws, "DialOffer")
    assert event["Source"] == "Selection"
    assert [n["E164"] for n in event["Numbers"]] == ["+442079460958", "+12127365000"]


async def test_the_dialling_rules_apply_to_a_selection(api: ApiSession, desktop: Desktop) -> None:
    config = api.client.app[appkeys.CONFIG]
    config.dial_format, config.dial_outside_prefix = "national", "9"
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await select_and_press(api, desktop, "Call me on +44 20 7946 0958, thanks")
        event = await next_event(ws, "MakeCallRequest")
    assert (event["Destination"], event["E164"]) == ("902079460958", "+442079460958")


async def test_a_selection_without_a_number_sends_nothing(
    api: ApiSession, desktop: Desktop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await select_and_press(api, desktop, "see you at 10:30 on 2026-11-25")
        with pytest.raises(TimeoutError):
            await next_event(ws, "MakeCallRequest", timeout=1.0)
    assert "no phone number" in caplog.text
    assert "10:30" not in caplog.text


async def test_switched_off_the_hotkey_does_nothing(api: ApiSession, desktop: Desktop) -> None:
    app = api.client.app
    await wait_until(lambda: app[appkeys.DESKTOP_HOTKEYS].listening)
    app[appkeys.CONFIG].selection_dialling = False
    await wait_until(lambda: not app[appkeys.DESKTOP_HOTKEYS].listening)  # no keyboard listener while both are off
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await asyncio.to_thread(select, desktop, "020 7946 0958")
        await asyncio.to_thread(desktop.run, "xdotool", "key", HOTKEY)
        with pytest.raises(TimeoutError):
            await next_event(ws, "MakeCallRequest", timeout=1.0)
        app[appkeys.CONFIG].selection_dialling = True  # on again, without a restart
        await select_and_press(api, desktop, "020 7946 0958")
        event = await next_event(ws, "MakeCallRequest")
    assert event["Source"] == "Selection"


def test_a_large_selection_is_not_read(desktop: Desktop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", desktop.display)
    select(desktop, "020 7946 0958 " * 20)
    assert read_primary_selection() == "020 7946 0958 " * 20
    select(desktop, "x" * (MAX_SELECTION_BYTES + 1))
    assert read_primary_selection() is None


def test_the_chords() -> None:
    keys = ChordTracker()
    assert [keys.press("ctrl"), keys.press("shift"), keys.press("shift"), keys.release("shift")] == [
        None,
        Chord.HOLD,
        None,  # auto-repeat
        Chord.BROKEN,
    ]
    assert [keys.press("shift"), keys.press("t"), keys.release("t")] == [Chord.HOLD, Chord.BROKEN, None]
    keys = ChordTracker()
    assert [keys.press("ctrl"), keys.press("alt"), keys.press("d"), keys.release("d")] == [
        None,
        None,
        Chord.SELECTION,
        None,
    ]


def test_the_selection_exists_on_x11_only() -> None:
    assert "X11" in (selection_problem({}, "darwin") or "")
    assert "xclip" in (selection_problem({"DISPLAY": ":0", "PATH": "/nonexistent"}, "linux") or "")
