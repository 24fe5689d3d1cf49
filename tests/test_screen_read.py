"""Screen-read dialling on a real X display (Xvfb) with real tesseract.

A sample screen is rendered with Pillow: 36 different numbers in three fonts (DejaVu Sans,
DejaVu Serif, Liberation Sans), three sizes (11, 15 and 22 px) and two themes (dark text on
white, light text on near-black), two numbers to a line so that every read also sees a
neighbour. It is shown in a Tk window under Xvfb. `POST ScreenRead` at a number of each
font, size and theme (left and right of the line in turn) offers that number first over the
WebSocket; holding Ctrl+Shift (xdotool) reads under the pointer; `partnercrmd ocr` reads the
image file; the setting switched off, the hotkey does nothing; a desktop that cannot be read
says why.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mss
import phonenumbers
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from partnercrmd import appkeys
from partnercrmd.config import DaemonConfig
from partnercrmd.dialling.platform_support import display_problem, hotkey_problem, screen_read_problem
from partnercrmd.dialling.screen import (
    MAX_QUEUED,
    Box,
    ScreenReadError,
    capture_box,
    numbers_in_image,
    pointer_position,
    preprocess,
)
from partnercrmd.testing import ApiSession, next_event
from tests.desktop_session import Desktop, desktop_session, stop

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
FONTS = {
    "DejaVu Sans": "DejaVuSans.ttf",
    "DejaVu Serif": "DejaVuSerif.ttf",
    "Liberation Sans": "LiberationSans-Regular.ttf",
}
SIZES = (11, 15, 22)
THEMES = {"light": ((255, 255, 255), (20, 20, 20)), "dark": ((30, 30, 30), (220, 220, 220))}
"""Background and text colours."""
SCREEN = (1280, 800)
FORMATS = (
    "020 7946 0{:03d}",
    "+44 161 496 0{:03d}",
    "(0113) 496 0{:03d}",
    "+44 (0)117 496 0{:03d}",
    "0121-496-0{:03d}",
    "+1 212-736-5{:03d}",
    "+33 1 42 68 53 {:02d}",
    "07911 123{:03d}",
    "+49 30 9018{:02d}",
)
"""Number formats as people write them; UK numbers from Ofcom's ranges for drama."""
WAIT = 5.0
E164 = phonenumbers.PhoneNumberFormat.E164


@dataclass(frozen=True)
class ShownNumber:
    text: str
    e164: str
    font: str
    size: int
    theme: str
    box: tuple[int, int, int, int]

    @property
    def centre(self) -> tuple[int, int]:
        return (self.box[0] + self.box[2]) // 2, (self.box[1] + self.box[3]) // 2

    def __str__(self) -> str:
        return f"{self.text} ({self.font} {self.size} px, {self.theme})"


def sample_numbers(count: int) -> list[str]:
    numbers = []
    for i in range(count):
        pattern = FORMATS[i % len(FORMATS)]
        numbers.append(pattern.format((100 + 37 * i) % (100 if "{:02d}" in pattern else 1000)))
    return numbers


def font_file(name: str) -> Path:
    return next(d / FONTS[name] for d in FONT_DIRS if (d / FONTS[name]).is_file())


def render_sample() -> tuple[Image.Image, list[ShownNumber]]:
    """The sample screen: each theme fills half of it, one line per font and size, two numbers to a line."""
    image = Image.new("RGB", SCREEN, THEMES["light"][0])
    draw = ImageDraw.Draw(image)
    numbers = iter(sample_numbers(len(THEMES) * len(FONTS) * len(SIZES) * 2))
    shown = []
    for column, (theme, (background, colour)) in enumerate(THEMES.items()):
        left = column * SCREEN[0] // 2
        draw.rectangle((left, 0, left + SCREEN[0] // 2, SCREEN[1]), fill=background)
        y = 20
        for font_name in FONTS:
            for size in SIZES:
                font = ImageFont.truetype(str(font_file(font_name)), size)
                x = left + 20
                for label in ("Tel:", "Fax"):
                    text = next(numbers)
                    draw.text((x, y), label, font=font, fill=colour)
                    x += round(draw.textlength(label + " ", font=font))
                    draw.text((x, y), text, font=font, fill=colour)
                    x0, y0, x1, y1 = (round(v) for v in draw.textbbox((x, y), text, font=font))
                    e164 = phonenumbers.format_number(phonenumbers.parse(text, "GB"), E164)
                    shown.append(ShownNumber(text, e164, font_name, size, theme, (x0, y0, x1, y1)))
                    x += round(draw.textlength(text, font=font)) + 60
                y += 80
    return image, shown


VIEWER = """
import sys, tkinter
root = tkinter.Tk()
root.overrideredirect(True)
photo = tkinter.PhotoImage(file=sys.argv[1])
root.geometry(f"{photo.width()}x{photo.height()}+0+0")
tkinter.Label(root, image=photo, borderwidth=0, highlightthickness=0).pack()
root.mainloop()
"""
"""A borderless Tk window at the top left corner showing a PNG file (no window manager runs under Xvfb)."""


def screen_pixels(display: str) -> Image.Image:
    with mss.MSS(display=display) as screen:
        shot = screen.grab({"left": 0, "top": 0, "width": SCREEN[0], "height": SCREEN[1]})
    return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")


@contextmanager
def showing(desktop: Desktop, image: Image.Image, path: Path) -> Iterator[None]:
    """Show `image` in a real X window until the block ends; returns once the screen shows it pixel for pixel."""
    image.save(path)
    viewer = subprocess.Popen(
        [sys.executable, "-c", VIEWER, str(path)], env=desktop.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while ImageChops.difference(screen_pixels(desktop.display), image).getbbox() is not None:
            if viewer.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the image viewer did not show the sample: {viewer.communicate()[1]!r}")
            time.sleep(0.05)
        yield
    finally:
        viewer.terminate()
        viewer.communicate(timeout=10)


@pytest.fixture(scope="module")
def sample() -> tuple[Image.Image, list[ShownNumber]]:
    return render_sample()


@pytest.fixture(scope="module")
def desktop(
    sample: tuple[Image.Image, list[ShownNumber]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desktop]:
    with desktop_session() as session, showing(session, sample[0], tmp_path_factory.mktemp("screen") / "sample.png"):
        yield session


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig, desktop: Desktop, monkeypatch: pytest.MonkeyPatch
) -> DaemonConfig:
    """The daemon runs in the Xvfb session showing the sample."""
    monkeypatch.setenv("DISPLAY", desktop.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    return partnercrmd_config


@pytest.fixture(autouse=True)
def no_desktop_thread_outlives_the_daemon() -> Iterator[None]:
    """Each test's daemon, once closed, leaves no keyboard listener or tray thread behind (set up before the daemon,
    so checked after it has closed). One left behind holds X connections: it failed loudly when the display went,
    and stalled the tests after it (a daemon closed while it was switching its hotkeys off lost its listener)."""
    yield
    left = [t.name for t in threading.enumerate() if "Listener" in type(t).__name__ or t.name.startswith("tray")]
    assert left == []


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.02)


async def xdotool(desktop: Desktop, *args: object) -> None:
    await asyncio.to_thread(desktop.run, "xdotool", *map(str, args))


# --- through the API and the hotkey -----------------------------------------------------------------------------


async def test_screen_read_offers_the_number_at_the_point_first(
    api: ApiSession, sample: tuple[Image.Image, list[ShownNumber]]
) -> None:
    misses = []
    lines = [sample[1][i : i + 2] for i in range(0, len(sample[1]), 2)]
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        for shown in (line[n % 2] for n, line in enumerate(lines)):  # each font, size and theme; left and right
            x, y = shown.centre
            answer = await api.call("POST", "ScreenRead", X=x, Y=y)
            offer = await next_event(ws, "DialOffer")
            assert offer == {"EventType": "DialOffer", "Source": "ScreenRead", "Numbers": answer}
            if answer[0]["E164"] != shown.e164:
                misses.append(f"{shown}: read {[n['E164'] for n in answer]}")
    assert misses == []
    assert set(answer[0]) == {"Destination", "E164", "DisplayNumber"}


async def test_screen_read_reads_at_the_pointer_by_default(
    api: ApiSession, desktop: Desktop, sample: tuple[Image.Image, list[ShownNumber]]
) -> None:
    shown = next(s for s in sample[1] if s.theme == "dark" and s.size == min(SIZES))
    await xdotool(desktop, "mousemove", *shown.centre)
    answer = await api.call("POST", "ScreenRead")
    assert answer[0]["E164"] == shown.e164


async def test_holding_ctrl_shift_offers_the_number_under_the_pointer(
    api: ApiSession, desktop: Desktop, sample: tuple[Image.Image, list[ShownNumber]]
) -> None:
    app = api.client.app
    app[appkeys.CONFIG].screen_read_dialling = True
    await wait_until(lambda: app[appkeys.DESKTOP_HOTKEYS].listening)
    shown = next(s for s in sample[1] if s.theme == "light" and s.font == "DejaVu Serif" and s.size == min(SIZES))
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await xdotool(desktop, "mousemove", *shown.centre, "keydown", "ctrl", "keydown", "shift")
        try:
            offer = await next_event(ws, "DialOffer")
        finally:
            await xdotool(desktop, "keyup", "shift", "keyup", "ctrl")
    assert offer["Source"] == "ScreenRead"
    assert offer["Numbers"][0]["E164"] == shown.e164


async def test_ctrl_shift_reads_nothing_while_screen_reading_is_off(
    api: ApiSession, desktop: Desktop, sample: tuple[Image.Image, list[ShownNumber]]
) -> None:
    app = api.client.app
    config = app[appkeys.CONFIG]
    config.selection_dialling = True  # the listener runs, for the other hotkey
    await wait_until(lambda: app[appkeys.DESKTOP_HOTKEYS].listening)
    shown = sample[1][0]
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await xdotool(desktop, "mousemove", *shown.centre, "keydown", "ctrl", "keydown", "shift")
        try:
            with pytest.raises(TimeoutError):
                await next_event(ws, "DialOffer", timeout=1.5)
        finally:
            await xdotool(desktop, "keyup", "shift", "keyup", "ctrl")
        config.screen_read_dialling = True  # switched on at runtime: the next hold reads
        await xdotool(desktop, "keydown", "ctrl", "keydown", "shift")
        try:
            offer = await next_event(ws, "DialOffer")
        finally:
            await xdotool(desktop, "keyup", "shift", "keyup", "ctrl")
    assert offer["Numbers"][0]["E164"] == shown.e164
    config.screen_read_dialling = config.selection_dialling = False
    await wait_until(lambda: not app[appkeys.DESKTOP_HOTKEYS].listening)  # both off: no keyboard listener at all


async def test_ctrl_shift_with_another_key_is_a_shortcut_not_a_read(
    api: ApiSession, desktop: Desktop, sample: tuple[Image.Image, list[ShownNumber]]
) -> None:
    app = api.client.app
    app[appkeys.CONFIG].screen_read_dialling = True
    await wait_until(lambda: app[appkeys.DESKTOP_HOTKEYS].listening)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await xdotool(desktop, "mousemove", *sample[1][0].centre, "keydown", "ctrl", "keydown", "shift", "keydown", "t")
        try:
            with pytest.raises(TimeoutError):
                await next_event(ws, "DialOffer", timeout=1.0)
        finally:
            await xdotool(desktop, "keyup", "t", "keyup", "shift", "keyup", "ctrl")


async def test_reads_queue_one_at_a_time_and_too_many_are_refused(
    api: ApiSession, sample: tuple[Image.Image, list[ShownNumber]]
) -> None:
    x, y = sample[1][0].centre
    responses = await asyncio.gather(*(api.request("POST", "ScreenRead", X=x, Y=y) for _ in range(MAX_QUEUED + 2)))
    assert sorted(r.status for r in responses) == [200] * MAX_QUEUED + [429] * 2
    for response in responses:
        body = await response.json()
        assert body[0]["E164"] == sample[1][0].e164 if response.status == 200 else body["Code"] == "rate_limited"


async def test_a_desktop_that_cannot_be_read_says_why(api: ApiSession, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    response = await api.request("POST", "ScreenRead", X=10, Y=10)
    assert response.status == 503
    assert "Wayland" in (await response.json())["Message"]
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.delenv("DISPLAY")
    response = await api.request("POST", "ScreenRead")
    assert response.status == 503
    assert "DISPLAY" in (await response.json())["Message"]
    response = await api.request("POST", "ScreenRead", X=10)
    assert response.status == 400


async def test_screen_read_is_in_the_openapi_document(api: ApiSession) -> None:
    document = await api.call("GET", "openapi.json")
    operation = document["paths"]["/api/v1/ScreenRead"]["post"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"


# --- the command line -------------------------------------------------------------------------------------------


def run_ocr(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARTNERCRMD_HOME": str(home), "PARTNERCRMD_KEYRING": "0"}
    return subprocess.run(
        [sys.executable, "-m", "partnercrmd", "ocr", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_ocr_command_prints_the_numbers_of_an_image(
    sample: tuple[Image.Image, list[ShownNumber]], tmp_path: Path
) -> None:
    image, shown = sample
    path = tmp_path / "sample.png"
    image.save(path)
    result = run_ocr(str(path), "--region", "GB", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(s.e164 for s in shown)


def test_ocr_command_reports_a_file_it_cannot_read(tmp_path: Path) -> None:
    missing = run_ocr(str(tmp_path / "missing.png"), home=tmp_path)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert "No such file" in missing.stderr
    text = tmp_path / "notes.txt"
    text.write_text("020 7946 0958")
    wrong = run_ocr(str(text), home=tmp_path)
    assert wrong.returncode == 2 and "not an image" in wrong.stderr


# --- the pipeline's parts ---------------------------------------------------------------------------------------


def test_preprocessing_inverts_dark_captures_and_upscales_them() -> None:
    dark = Image.new("RGB", (100, 20), THEMES["dark"][0])
    ImageDraw.Draw(dark).text((2, 2), "0161 496 0000", fill=THEMES["dark"][1])
    prepared = preprocess(dark)
    assert prepared.mode == "L" and prepared.size == (100 * 3 + 20, 20 * 3 + 20)
    assert prepared.getpixel((50, 40)) == 255 - THEMES["dark"][0][0]  # the background is light now
    light = preprocess(Image.new("RGB", (10, 10), "white"), scale=2)
    assert light.size == (40, 40) and light.getextrema() == (255, 255)


def test_capture_box_stays_on_the_screen() -> None:
    screen = Box(0, 0, 1280, 800)
    assert capture_box(640, 400, screen, 480, 64) == Box(400, 368, 880, 432)
    assert capture_box(5, 5, screen, 480, 64) == Box(0, 0, 480, 64)
    assert capture_box(1279, 799, screen, 480, 64) == Box(800, 736, 1280, 800)
    assert capture_box(10, 10, Box(0, 0, 300, 40), 480, 64) == Box(0, 0, 300, 40)


def test_the_number_nearest_the_point_comes_first(sample: tuple[Image.Image, list[ShownNumber]]) -> None:
    image, shown = sample
    tel, fax = shown[4], shown[5]  # one line: "Tel: … Fax …"
    line = image.crop((0, tel.box[1] - 10, 640, tel.box[3] + 10))
    for first, second in ((tel, fax), (fax, tel)):
        point = (first.centre[0], first.centre[1] - tel.box[1] + 10)
        found = numbers_in_image(line, "GB", point)
        assert [n.number.e164 for n in found] == [first.e164, second.e164]
        assert found[0].box.distance(*point) == 0


def test_problems_are_reported_in_words() -> None:
    assert "Wayland" in (display_problem({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux") or "")
    assert "Wayland" in (display_problem({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "linux") or "")
    assert "DISPLAY" in (display_problem({}, "linux") or "")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert "tesseract-ocr" in (screen_read_problem({"DISPLAY": ":0", "PATH": "/nonexistent"}, platform="linux") or "")
    assert "Input Monitoring" in (hotkey_problem(trusted=False, platform="darwin") or "")
    assert hotkey_problem(trusted=True, platform="darwin") is None


def test_a_display_that_goes_during_a_pointer_read_is_an_error_that_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The X server stops between pynput opening its connection and reading the pointer (a session ending, the
    tests' Xvfb stopping): the read is a ScreenReadError that says so, and the connection is closed then, not by
    the controller's collection later (which raised "Exception ignored in Controller.__del__" in a later test)."""
    with desktop_session() as gone:
        monkeypatch.setenv("DISPLAY", gone.display)
        import pynput.mouse  # type: ignore[import-untyped]

        class ServerStopsFirst(pynput.mouse.Controller):  # type: ignore[misc]
            @property
            def position(self) -> tuple[int, int]:
                stop(gone.process)
                return super().position  # type: ignore[no-any-return]

        monkeypatch.setattr(pynput.mouse, "Controller", ServerStopsFirst)
        unraisable: list[str] = []
        monkeypatch.setattr(sys, "unraisablehook", lambda meta: unraisable.append(repr(meta.exc_value)))
        with pytest.raises(ScreenReadError, match="The mouse pointer could not be read"):
            pointer_position()
        gc.collect()
        assert unraisable == []
