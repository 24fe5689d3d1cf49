"""Dial offers on screen: a copied number shows one desktop notification with a Dial button that dials.

All real: Xvfb and xclip (tests/desktop_session.py), a private D-Bus session bus with Debian's dunst as the
notification service (tests/notification_desktop.py, whose dunst menu invokes an action as a click would), the
daemon's app with its clipboard monitor, and the WebSocket a phone client reads. With the surface switched off
(the user's setting, or the partner's branding leaving it to the client) nothing is drawn and the events go out
as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from partnercrmd.branding import load_branding_file
from partnercrmd.config import DaemonConfig
from partnercrmd.dialling.clipboard import ClipboardState
from partnercrmd.dialling.lifecycle import clipboard_status
from partnercrmd.dialling.service import DUPLICATE_WINDOW
from partnercrmd.testing import ApiSession, next_event
from tests.desktop_session import Desktop, run_daemon_on
from tests.notification_desktop import MENU_LINE, Dunst, SessionBus

PRODUCT = "Acme Connect"
WAIT = 10.0


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory, desktop: Desktop) -> Iterator[SessionBus]:
    for tool in ("dunst", "dunstctl", "dbus-daemon"):
        assert shutil.which(tool), f"{tool} is not installed: run the README's test command (it installs it)"
    session = SessionBus(tmp_path_factory.mktemp("offers-bus"), desktop)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="module")
def dunst(bus: SessionBus) -> Iterator[Dunst]:
    service = Dunst(bus)
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def surfaces_by_partner() -> dict[str, str]:
    """The branding's `[surfaces]` table (none: partnercrmd draws every surface)."""
    return {}


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig,
    desktop: Desktop,
    bus: SessionBus,
    dunst: Dunst,
    surfaces_by_partner: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> DaemonConfig:
    """The daemon of "Acme Connect" in the Xvfb session, on the bus where dunst runs, clipboard dialling on."""
    run_daemon_on(desktop, partnercrmd_config, monkeypatch).clipboard_dialling = True
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    branding = tmp_path / "branding.toml"
    surfaces = "".join(f'{surface} = "{drawer}"\n' for surface, drawer in surfaces_by_partner.items())
    branding.write_text(f'[product]\nname = "{PRODUCT}"\n[surfaces]\n{surfaces}', encoding="utf-8")
    partnercrmd_config.branding = load_branding_file(branding)
    return partnercrmd_config


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"waited {WAIT:g} s for {what}"
        await asyncio.sleep(0.05)


async def watching(api: ApiSession) -> None:
    deadline = time.monotonic() + WAIT
    while clipboard_status(api.client.app).state is not ClipboardState.WATCHING:
        assert time.monotonic() < deadline, clipboard_status(api.client.app)
        await asyncio.sleep(0.02)


async def copy(desktop: Desktop, text: str) -> None:
    """Another program (xclip) takes the CLIPBOARD selection with `text`."""
    await asyncio.to_thread(desktop.set_clipboard, text)


async def copy_and_wait_until_seen(api: ApiSession, desktop: Desktop, text: str) -> None:
    seen = clipboard_status(api.client.app).changes
    await copy(desktop, text)
    deadline = time.monotonic() + WAIT
    while clipboard_status(api.client.app).changes <= seen:
        assert time.monotonic() < deadline, "the clipboard monitor did not see the copy"
        await asyncio.sleep(0.02)


async def no_more_events(ws: ClientWebSocketResponse, seconds: float) -> list[dict[str, Any]]:
    """Whatever else arrives on the WebSocket within `seconds` (heartbeats left out)."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if isinstance(message.data, str):
            events.append(json.loads(message.data))
    return events


def menu_of(dunst: Dunst, label: str) -> list[tuple[str, str, str]]:
    """(action label, summary, action key) of every action dunst lists, after invoking the one labelled `label`."""
    lines = [MENU_LINE.fullmatch(line) for line in dunst.choose(label)]
    assert all(lines), lines
    return [(m[1], m[2], m[4]) for m in lines if m and m[1]]


async def test_a_copied_number_shows_one_notification_whose_dial_button_sends_make_call_request(
    api: ApiSession, desktop: Desktop, dunst: Dunst
) -> None:
    await watching(api)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await copy(desktop, "Call me on 020 7946 0958")
        offer = await next_event(ws, "DialOffer")
        assert offer["Source"] == "Clipboard"
        await until(lambda: dunst.displayed() == 1, "the offer on screen")

        await copy_and_wait_until_seen(api, desktop, "Lunch at noon?")  # something else in between
        await asyncio.sleep(DUPLICATE_WINDOW)  # past the window in which DialService drops a repeated offer
        await copy(desktop, "again: 020 7946 0958")  # the same number copied again
        await next_event(ws, "DialOffer")  # still an event for the phone client…
        await asyncio.sleep(1.0)
        assert dunst.displayed() == 1  # …but no second notification

        menu = await asyncio.to_thread(menu_of, dunst, "Dial 020 7946 0958")
        assert menu == [("Dial 020 7946 0958", "Dial the number you copied?", "0")]
        call = await next_event(ws, "MakeCallRequest")
    assert call == {
        "EventType": "MakeCallRequest",
        "Destination": "+442079460958",
        "E164": "+442079460958",
        "DisplayNumber": "020 7946 0958",
        "Source": "Clipboard",
    }
    await until(lambda: dunst.displayed() == 0, "the taken offer off the screen")


async def test_a_different_offer_replaces_the_one_on_screen_and_several_numbers_get_a_button_each(
    api: ApiSession, desktop: Desktop, dunst: Dunst
) -> None:
    await watching(api)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await copy(desktop, "Reception 0161 496 0789")
        await next_event(ws, "DialOffer")
        await until(lambda: dunst.displayed() == 1, "the first offer on screen")
        await copy(desktop, "Sales +1 212 736 5000, support 020 7946 0111")
        await next_event(ws, "DialOffer")
        await asyncio.sleep(1.0)
        assert dunst.displayed() == 1
        menu = await asyncio.to_thread(menu_of, dunst, "Dial +1 212-736-5000")
        call = await next_event(ws, "MakeCallRequest")
    assert sorted((key, label) for label, _, key in menu) == [
        ("0", "Dial +1 212-736-5000"),
        ("1", "Dial 020 7946 0111"),
    ]
    assert call["E164"] == "+12127365000"
    await until(lambda: dunst.displayed() == 0, "the taken offer off the screen")


async def test_an_offer_taken_by_the_phone_client_leaves_the_screen(
    api: ApiSession, desktop: Desktop, dunst: Dunst
) -> None:
    await watching(api)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await copy(desktop, "Call 020 7946 0222")
        await next_event(ws, "DialOffer")
        await until(lambda: dunst.displayed() == 1, "the offer on screen")
        await api.call("POST", "Dial", Destination="020 7946 0222", Source="Api")
        await next_event(ws, "MakeCallRequest")
    await until(lambda: dunst.displayed() == 0, "the offer the client took off the screen")


@pytest.mark.parametrize(
    ("surfaces_by_partner", "user_setting"),
    [({}, "draw_offers=off"), ({"offers": "client", "tray": "daemon"}, "")],
    ids=["the user switched offers off", "the partner's client draws offers"],
)
async def test_with_the_surface_off_nothing_is_drawn_and_the_events_go_out_as_before(
    api: ApiSession, desktop: Desktop, dunst: Dunst, user_setting: str
) -> None:
    number = "020 7946 0444" if user_setting else "020 7946 0555"  # a new copy for each (the clipboard stays)
    if user_setting:
        await api_settings(api, user_setting)
    await watching(api)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await copy(desktop, f"Call {number}")
        offer = await next_event(ws, "DialOffer")
        await asyncio.sleep(1.5)
        assert dunst.displayed() == 0
        await api.call("POST", "Dial", Destination=number, Source="Api")
        call = await next_event(ws, "MakeCallRequest")
    assert [n["DisplayNumber"] for n in offer["Numbers"]] == [number] == [call["DisplayNumber"]]


async def api_settings(api: ApiSession, *assignments: str) -> None:
    """`partnercrmd settings set …` as the user would, then the daemon reads the vault again."""
    from partnercrmd.testing import run_cli
    from partnercrmd.vault_sync import reload_vault

    assert await asyncio.to_thread(run_cli, ["settings", "set", *assignments]) == 0
    await reload_vault(api.client.app)


async def test_without_a_notification_service_the_offer_goes_out_and_nothing_breaks(
    api: ApiSession,
    desktop: Desktop,
    dunst: Dunst,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="partnercrmd.platform.notifications")
    quiet_bus = SessionBus(tmp_path, desktop)  # a session bus where no notification service runs
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", quiet_bus.address)  # read when the first offer is drawn
        await watching(api)
        async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
            await next_event(ws, "Initial")
            await copy(desktop, "Call 020 7946 0666")
            offer = await next_event(ws, "DialOffer")
            await until(lambda: "desktop notifications cannot ask here" in caplog.text, "the log line")
            await copy(desktop, "Call 020 7946 0777")
            second = await next_event(ws, "DialOffer")
            await api.call("POST", "Dial", Destination="020 7946 0777", Source="Api")
            call = await next_event(ws, "MakeCallRequest")
    finally:
        quiet_bus.close()
    assert [offer["Numbers"][0]["DisplayNumber"], second["Numbers"][0]["DisplayNumber"]] == [
        "020 7946 0666",
        "020 7946 0777",
    ]
    assert call["DisplayNumber"] == "020 7946 0777"
    assert caplog.text.count("desktop notifications cannot ask here") == 1  # said once, not per offer
    assert dunst.displayed() == 0
