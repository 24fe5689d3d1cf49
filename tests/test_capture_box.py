"""The capture box on a real X display: Xvfb, a window manager (openbox) and a real, focused text window.

Holding Ctrl+Shift (xdotool) over a number in the text window frames the area read and lists the number
as a button beside it (a screenshot shows both; with PARTNERCRMD_SCREENSHOTS=<dir> it is saved there, which
is how docs/screenshots/capture-box.png is made); clicking the button sends `MakeCallRequest` (Source
ScreenRead) on the WebSocket; Escape closes the box and never reaches the text window; letting go and moving
the pointer away closes it, as does the time-out. The text window keeps the focus throughout. Switched off
(the user's setting or the partner's branding), or where its window cannot start, no box is drawn and the
read's `DialOffer` is sent as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import mss
import pytest
from aiohttp import ClientWebSocketResponse
from PIL import Image

from partnercrmd import appkeys
from partnercrmd.branding import load_branding_file
from partnercrmd.config import DaemonConfig
from partnercrmd.dialling.capture_box import CaptureBox, window_command
from partnercrmd.dialling.capture_window import (
    FRAME_COLOUR,
    WINDOW_TITLE,
    Rect,
    frame_sides,
    parse_message,
    place_panel,
)
from partnercrmd.dialling.screen import Box, capture_box
from partnercrmd.dialling.service import DUPLICATE_WINDOW
from partnercrmd.surfaces import Surface
from partnercrmd.testing import ApiSession, next_event, run_cli
from tests.desktop_session import Desktop, desktop_session, run_daemon_on, window_manager

NUMBER = "020 7946 0958"
E164 = "+442079460958"
TEXT_WINDOW = """
import sys, tkinter
log = open(sys.argv[1], "a", buffering=1)
root = tkinter.Tk()
root.title("notes")
root.geometry("700x240+100+100")
text = tkinter.Text(root, font=("DejaVu Sans", 18), borderwidth=0, highlightthickness=0)
text.insert("1.0", "Meeting notes, Monday\\n\\nCall Alice on " + sys.argv[2] + " today")
text.pack(fill="both", expand=True)
text.focus_set()
start = "3.0 + 14 chars"
def where(event=None):
    root.update_idletasks()
    left = text.bbox(start)
    right = text.bbox(start + " + %d chars" % (len(sys.argv[2]) - 1))
    if left and right:
        x = text.winfo_rootx() + (left[0] + right[0] + right[2]) // 2
        y = text.winfo_rooty() + left[1] + left[3] // 2
        log.write(f"at {x} {y}\\n")
root.bind("<Configure>", where)
root.bind_all("<Key>", lambda event: log.write(f"key {event.keysym}\\n"))
root.mainloop()
"""
"""A managed (decorated, focusable) Tk window with a line of text holding the number; it logs where the number
is on the screen and every key it receives."""
WAIT = 20.0
"""Seconds for a hold to show the box: the window program's first start and a tesseract read on a busy machine."""
SCREEN = Box(0, 0, 1280, 800)


@dataclasses.dataclass
class TextWindow:
    window_id: str
    log: Path

    def lines(self, prefix: str) -> list[str]:
        return [line[len(prefix) :] for line in self.log.read_text().splitlines() if line.startswith(prefix)]

    @property
    def number_centre(self) -> tuple[int, int]:
        x, y = self.lines("at ")[-1].split()
        return int(x), int(y)

    @property
    def keys(self) -> list[str]:
        return self.lines("key ")


@pytest.fixture(scope="module")
def desktop() -> Iterator[Desktop]:
    """Xvfb with openbox."""
    with desktop_session() as session, window_manager(session):
        yield session


@pytest.fixture(scope="module")
def text_window(desktop: Desktop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TextWindow]:
    """The text window, shown and focused (the window manager made it the active window)."""
    with text_window_on(desktop, tmp_path_factory.mktemp("text-window")) as window:
        yield window


@contextmanager
def text_window_on(desktop: Desktop, folder: Path) -> Iterator[TextWindow]:
    """Show the text window (its log in `folder`) until the block ends; returns once it is the focused window."""
    log = folder / "text-window.txt"
    log.touch()
    process = subprocess.Popen([sys.executable, "-c", TEXT_WINDOW, str(log), NUMBER], env=desktop.env)
    try:
        deadline = time.monotonic() + 10
        while True:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--name", "^notes$"], env=desktop.env, capture_output=True
            )
            ids = found.stdout.decode().split()
            if ids and active_window(desktop) == int(ids[0]) and "at " in log.read_text():
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the text window did not come up focused")
            time.sleep(0.05)
        yield TextWindow(ids[0], log)
    finally:
        process.terminate()
        process.wait(10)


def active_window(desktop: Desktop) -> int | None:
    """The window manager's active window (_NET_ACTIVE_WINDOW)."""
    value = desktop.run("xprop", "-root", "_NET_ACTIVE_WINDOW").rsplit("#", 1)[-1].strip()
    return int(value, 16) if value.startswith("0x") else None


def focused_window(desktop: Desktop) -> int:
    """The X server's input focus (xdotool getwindowfocus)."""
    return int(desktop.run("xdotool", "getwindowfocus").strip())


def box_windows_shown(desktop: Desktop) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", WINDOW_TITLE], env=desktop.env, capture_output=True
    )
    return bool(found.stdout.split())


def screenshot(desktop: Desktop) -> Image.Image:
    with mss.MSS(display=desktop.display) as screen:
        shot = screen.grab({"left": 0, "top": 0, "width": SCREEN.right, "height": SCREEN.bottom})
    return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")


def colour(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig, desktop: Desktop, monkeypatch: pytest.MonkeyPatch
) -> DaemonConfig:
    """The daemon runs on the desktop with the text window, screen reading on."""
    partnercrmd_config.screen_read_dialling = True
    return run_daemon_on(desktop, partnercrmd_config, monkeypatch)


async def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def xdotool(desktop: Desktop, *args: object) -> None:
    await asyncio.to_thread(desktop.run, "xdotool", *map(str, args))


def the_box(api: ApiSession) -> CaptureBox:
    box = api.client.app[appkeys.DESKTOP_HOTKEYS].capture_box
    assert box is not None
    return box


@asynccontextmanager
async def holding_over_the_number(
    api: ApiSession, desktop: Desktop, text_window: TextWindow
) -> AsyncIterator[ClientWebSocketResponse]:
    """Ctrl+Shift held with the pointer on the number, the event WebSocket open; let go at the end."""
    await wait_until(lambda: api.client.app[appkeys.DESKTOP_HOTKEYS].listening)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await xdotool(desktop, "mousemove", *text_window.number_centre, "keydown", "ctrl", "keydown", "shift")
        try:
            yield ws
        finally:
            await xdotool(desktop, "keyup", "shift", "keyup", "ctrl")


async def the_box_comes_up(api: ApiSession, ws: ClientWebSocketResponse) -> dict[str, Any]:
    """Wait for the read's `DialOffer` and for the box to list its numbers; the offer."""
    offer = await next_event(ws, "DialOffer", timeout=WAIT)
    box = the_box(api)
    await wait_until(lambda: box.shown is not None)
    return offer


# --- the box, over a real text window ---------------------------------------------------------------------------


async def test_the_box_frames_the_read_lists_the_number_and_a_click_dials_it(
    api: ApiSession, desktop: Desktop, text_window: TextWindow, tmp_path: Path
) -> None:
    focus = focused_window(desktop)
    box = the_box(api)
    async with holding_over_the_number(api, desktop, text_window) as ws:
        offer = await the_box_comes_up(api, ws)
        assert [n["E164"] for n in offer["Numbers"]] == [E164]  # the events are sent as before
        assert box.shown is not None and len(box.shown.buttons) == 1
        shot = screenshot(desktop)
        shot.save(tmp_path / "capture-box.png")
        if folder := os.environ.get("PARTNERCRMD_SCREENSHOTS"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            shot.crop((99, 99, 803, 345)).save(Path(folder) / "capture-box.png")  # the text window
        read = capture_box(*text_window.number_centre, SCREEN)
        for side in frame_sides(Rect(read.left, read.top, read.right, read.bottom)):  # drawn outside what is read
            assert shot.getpixel(((side.left + side.right) // 2, (side.top + side.bottom) // 2)) == colour(FRAME_COLOUR)
        button = box.shown.buttons[0]
        assert shot.getpixel((button.left + 3, (button.top + button.bottom) // 2)) == colour(FRAME_COLOUR)
        assert active_window(desktop) == int(text_window.window_id) and focused_window(desktop) == focus
    assert box.up  # let go over the number: still there to be clicked
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await xdotool(desktop, "mousemove", (button.left + button.right) // 2, (button.top + button.bottom) // 2)
        await xdotool(desktop, "click", "1")
        request = await next_event(ws, "MakeCallRequest", timeout=WAIT)
    assert request["Source"] == "ScreenRead" and request["E164"] == E164
    await wait_until(lambda: not box.up and not box_windows_shown(desktop))  # a click closes it
    assert active_window(desktop) == int(text_window.window_id) and focused_window(desktop) == focus


async def test_escape_closes_the_box_and_never_reaches_the_text_window(
    api: ApiSession, desktop: Desktop, text_window: TextWindow
) -> None:
    focus = focused_window(desktop)
    box = the_box(api)
    async with holding_over_the_number(api, desktop, text_window) as ws:
        await the_box_comes_up(api, ws)
    keys_before = len(text_window.keys)
    await wait_until(lambda: box.holds_escape, timeout=5)
    await xdotool(desktop, "key", "Escape")
    await wait_until(lambda: not box.up and not box_windows_shown(desktop), timeout=5)
    assert "Escape" not in text_window.keys[keys_before:]  # held from the focused window while the box was up
    assert active_window(desktop) == int(text_window.window_id) and focused_window(desktop) == focus
    await wait_until(lambda: not box.holds_escape, timeout=5)
    await xdotool(desktop, "key", "Escape")
    await wait_until(lambda: "Escape" in text_window.keys[keys_before:], timeout=5)  # once closed, Escape is theirs


async def test_letting_go_and_moving_away_closes_the_box(
    api: ApiSession, desktop: Desktop, text_window: TextWindow
) -> None:
    box = the_box(api)
    async with holding_over_the_number(api, desktop, text_window) as ws:
        await the_box_comes_up(api, ws)
        await xdotool(desktop, "mousemove", 1200, 760)
        await asyncio.sleep(0.5)
        assert box.up and box_windows_shown(desktop)  # still held: the box stays
    await wait_until(lambda: not box.up and not box_windows_shown(desktop), timeout=5)


async def test_the_box_closes_by_itself_after_a_while(
    api: ApiSession, desktop: Desktop, text_window: TextWindow
) -> None:
    box = the_box(api)
    box.command = [*window_command(), "--timeout", "1.5"]
    async with holding_over_the_number(api, desktop, text_window) as ws:
        await the_box_comes_up(api, ws)
        await xdotool(desktop, "mousemove", 1200, 760)  # away, but Ctrl+Shift still held
        await wait_until(lambda: not box.up and not box_windows_shown(desktop), timeout=5)


async def test_a_new_hold_closes_the_box_before_it_reads(
    api: ApiSession, desktop: Desktop, text_window: TextWindow
) -> None:
    box = the_box(api)
    async with holding_over_the_number(api, desktop, text_window) as ws:
        await the_box_comes_up(api, ws)
    assert box.shown is not None
    first, button = box.shown, box.shown.buttons[0]
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        centre = ((button.left + button.right) // 2, (button.top + button.bottom) // 2)
        await xdotool(desktop, "mousemove", *centre, "keydown", "ctrl", "keydown", "shift")  # over the box's own button
        try:
            await wait_until(lambda: box.shown is not None and box.shown.read_id > first.read_id)
            assert box.shown is not None and box.shown.buttons == ()  # "No phone number here": the old box was gone
            with pytest.raises(TimeoutError):
                await next_event(ws, "DialOffer", timeout=1.0)
        finally:
            await xdotool(desktop, "keyup", "shift", "keyup", "ctrl")


async def test_a_window_program_that_dies_is_started_again_at_the_next_hold(
    api: ApiSession, desktop: Desktop, text_window: TextWindow
) -> None:
    box = the_box(api)
    async with holding_over_the_number(api, desktop, text_window) as ws:
        await the_box_comes_up(api, ws)
    first = box.window_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)  # the window program the daemon under test started
    await wait_until(lambda: not box.up and box.window_pid is None, timeout=5)
    await asyncio.sleep(DUPLICATE_WINDOW)  # the same offer again would be dropped as a repeat
    async with holding_over_the_number(api, desktop, text_window) as ws:
        offer = await the_box_comes_up(api, ws)
    assert offer["Numbers"][0]["E164"] == E164 and box.window_pid not in (None, first)


# --- switched off, or no window: the events as today ------------------------------------------------------------


@pytest.mark.parametrize("who", ["user", "partner"])
async def test_a_box_switched_off_is_not_drawn_and_the_offer_is_still_sent(
    api: ApiSession, desktop: Desktop, text_window: TextWindow, who: str, tmp_path: Path
) -> None:
    config = api.client.app[appkeys.CONFIG]
    if who == "user":  # the Dialling page's switch, as `partnercrmd settings` sets it
        assert await asyncio.to_thread(run_cli, ["settings", "set", "draw_capture_box=off"]) == 0
        await wait_until(lambda: Surface.CAPTURE_BOX in config.surfaces_off, timeout=5)
    else:  # the partner's phone client draws it
        branding = tmp_path / "branding.toml"
        branding.write_text('[product]\nname = "Acme Connect"\n[surfaces]\ncapture_box = "client"\n', encoding="utf-8")
        config.branding = load_branding_file(branding)
    box = the_box(api)
    async with holding_over_the_number(api, desktop, text_window) as ws:
        offer = await next_event(ws, "DialOffer", timeout=WAIT)
        assert offer["Numbers"][0]["E164"] == E164
        await asyncio.sleep(0.5)
        assert not box.up and not box_windows_shown(desktop)


async def test_where_the_window_cannot_start_the_offer_is_still_sent(
    api: ApiSession, desktop: Desktop, text_window: TextWindow
) -> None:
    box = the_box(api)
    box.command = ["env", "DISPLAY=:999", *window_command()]  # the real program, on a display that is not there
    async with holding_over_the_number(api, desktop, text_window) as ws:
        offer = await next_event(ws, "DialOffer", timeout=WAIT)
        assert offer["Numbers"][0]["E164"] == E164
        await wait_until(lambda: box.problem is not None)
    assert "Tk cannot start" in (box.problem or "") and not box.up and not box_windows_shown(desktop)


# --- the window's parts -----------------------------------------------------------------------------------------


def test_the_frame_lies_outside_the_rectangle_read() -> None:
    read = Rect(100, 200, 580, 264)
    sides = frame_sides(read)
    assert len(sides) == 4
    for side in sides:
        assert side.right > side.left and side.bottom > side.top
        apart = side.right <= read.left or read.right <= side.left or side.bottom <= read.top or read.bottom <= side.top
        assert apart


def test_the_panel_goes_below_the_frame_or_above_it_and_stays_on_the_screen() -> None:
    assert place_panel(Rect(400, 368, 880, 432), 200, 100, 1280, 800) == (540, 441)
    assert place_panel(Rect(400, 736, 880, 800), 200, 100, 1280, 800) == (540, 627)  # no room below: above
    assert place_panel(Rect(0, 0, 480, 64), 600, 100, 1280, 800) == (0, 73)  # not off the left edge


def test_the_window_refuses_messages_that_are_not_its_own() -> None:
    assert parse_message('{"op": "outline", "id": 1, "rect": [1, 2, 3, 4]}')["op"] == "outline"
    for line in (
        "not json",
        '{"op": "dial"}',
        '{"op": "outline", "id": 1, "rect": [3, 2, 1, 4]}',
        '{"op": "outline", "rect": [1, 2, 3, 4]}',
        '{"op": "numbers", "id": 1, "numbers": [1]}',
    ):
        with pytest.raises(ValueError):
            parse_message(line)
