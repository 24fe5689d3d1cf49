"""Focus dialling with a real GTK application under Xvfb and a real AT-SPI accessibility bus.

A private D-Bus session bus (tests/notification_desktop.py) carries at-spi2-core's bus launcher, which starts
the accessibility bus (and its registry on demand); a small GTK 3 program (Debian's python3-gi, run by
/usr/bin/python3: only the test's application, not the daemon) shows four entries: a phone number, plain
text, a password field holding digits, and an empty one. The daemon runs in the test with `focus_dialling` on. Focusing
the phone field makes the dial button appear beside it (found with xdotool, screenshot taken); clicking it
sends `MakeCallRequest`; the hotkey dials it too; the plain field shows no button, a number typed into a
focused field brings it; the password field's text
is never asked for (dbus-monitor watches every call on the accessibility bus). The same with a Qt 5 line edit
(Debian's python3-pyqt5) and an input of a web page in Debian's Chromium (each with its accessibility on).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from partnercrmd import appkeys
from partnercrmd.config import DaemonConfig
from partnercrmd.dialling.dial_button import WINDOW_TITLE
from partnercrmd.settings import change_settings
from partnercrmd.surfaces import Surface, daemon_draws, setting_key
from partnercrmd.testing import ApiSession, next_event
from tests.daemon_process import wait_until
from tests.desktop_session import Desktop, run_daemon_on, stop
from tests.notification_desktop import SessionBus

WAIT = 10.0
SYSTEM_PYTHON = "/usr/bin/python3"
BUS_LAUNCHER = "/usr/libexec/at-spi-bus-launcher"
PHONE = "+44 20 7946 0958"
SECRET = "+44 20 7946 0001"
CHROMIUM = "/usr/bin/chromium"
WEB_PAGE = """<!doctype html><title>Focus dialling page</title>
<p><label>Phone <input value="+44 20 7946 0958"></label> <label>Notes <input value="call back"></label>"""

GTK_APP = r'''
"""Four entries; reads "focus NAME" lines and answers "NAME x y width height" (the entry on screen)."""
import sys
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk

window = Gtk.Window(title="Focus dialling test")
window.set_default_size(420, 160)
grid = Gtk.Grid(row_spacing=8, column_spacing=8, margin=16)
entries = {}
for row, (name, label, text, visible) in enumerate([
    ("phone", "Phone", sys.argv[1], True),
    ("plain", "Notes", "Call back after lunch", True),
    ("secret", "PIN", sys.argv[2], False),
    ("empty", "Mobile", "", True),
]):
    grid.attach(Gtk.Label(label=label, xalign=0), 0, row, 1, 1)
    entry = Gtk.Entry(text=text, visibility=visible, width_chars=22)
    entries[name] = entry
    grid.attach(entry, 1, row, 1, 1)
window.add(grid)
window.connect("destroy", Gtk.main_quit)
window.show_all()

def command(source, condition):
    line = sys.stdin.readline()
    if not line:
        Gtk.main_quit()
        return False
    name = line.split()[1]
    entry = entries[name]
    entry.grab_focus()
    entry.select_region(0, 0)
    origin_x, origin_y = window.get_window().get_origin()[1:]
    x, y = entry.translate_coordinates(window, 0, 0)
    box = entry.get_allocation()
    print(name, origin_x + x, origin_y + y, box.width, box.height, flush=True)
    return True

GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, command)
print("ready", flush=True)
Gtk.main()
'''


# --- the accessibility bus and the GTK application ----------------------------------------------------------


class AccessibilityBus:
    """at-spi2-core's bus launcher on a session bus: the accessibility bus, its registry started on demand."""

    def __init__(self, bus: SessionBus, folder: Path) -> None:
        self.bus = bus
        runtime = folder / "runtime"
        runtime.mkdir(mode=0o700)
        self.env = {**os.environ, **bus.env, "XDG_RUNTIME_DIR": str(runtime)}
        self.process = subprocess.Popen(
            [BUS_LAUNCHER, "--launch-immediately"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.address = wait_until(self._address, timeout=WAIT, what="the accessibility bus")

    def _address(self) -> str | None:
        reply = subprocess.run(
            ["dbus-send", "--session", "--print-reply=literal", "--dest=org.a11y.Bus", "/org/a11y/bus",
             "org.a11y.Bus.GetAddress"],
            env=self.env, capture_output=True, text=True, timeout=WAIT,
        )  # fmt: skip
        return reply.stdout.strip() or None if reply.returncode == 0 else None

    def close(self) -> None:
        stop(self.process)  # the accessibility bus and its registry end with it


class GtkFields:
    """The GTK program with its four entries; `focus` gives one the keyboard focus and says where it is."""

    def __init__(self, a11y: AccessibilityBus, folder: Path, desktop: Desktop) -> None:
        program = folder / "gtk_fields.py"
        program.write_text(GTK_APP, encoding="utf-8")
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(program), PHONE, SECRET],
            env=a11y.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == b"ready"
        self.window = wait_until(lambda: window_named(desktop, "Focus dialling test"), WAIT, what="the GTK window")
        desktop.run("xdotool", "windowfocus", "--sync", self.window)

    def focus(self, name: str) -> tuple[int, int, int, int]:
        """Focus the entry `name`; its place on screen (x, y, width, height)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"focus {name}\n".encode())
        self.process.stdin.flush()
        answer = self.process.stdout.readline().decode().split()
        assert answer[0] == name
        x, y, width, height = (int(v) for v in answer[1:])
        return x, y, width, height

    def close(self) -> None:
        stop(self.process)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


class BusMonitor:
    """dbus-monitor on the accessibility bus, recording every call that asks for text (Text interface)."""

    def __init__(self, a11y: AccessibilityBus, folder: Path) -> None:
        self.log = folder / "text-calls.log"
        self.out = self.log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            ["dbus-monitor", "--address", a11y.address, "type='method_call',interface='org.a11y.atspi.Text'",
             "type='method_call',member='Get',arg0='org.a11y.atspi.Text'"],
            stdout=self.out, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def calls(self) -> list[str]:
        self.out.flush()
        return [line for line in self.log.read_text(encoding="utf-8").splitlines() if line.startswith("method call")]

    def close(self) -> None:
        stop(self.process)
        self.out.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("dbus-daemon", "dbus-send", "dbus-monitor", BUS_LAUNCHER, SYSTEM_PYTHON):
        assert shutil.which(tool), f"{tool} is not installed: run the README's test command (it installs it)"
    return tmp_path_factory.mktemp("focus")


@pytest.fixture(scope="module")
def a11y(folder: Path, desktop: Desktop) -> Iterator[AccessibilityBus]:
    bus = SessionBus(folder, desktop)
    try:
        launcher = AccessibilityBus(bus, folder)
        try:
            yield launcher
        finally:
            launcher.close()
    finally:
        bus.close()


@pytest.fixture(scope="module")
def fields(a11y: AccessibilityBus, folder: Path, desktop: Desktop) -> Iterator[GtkFields]:
    app = GtkFields(a11y, folder, desktop)
    try:
        yield app
    finally:
        app.close()


QT_APP = r'''
"""Two line edits (a phone number and a note) in a Qt 5 window; reads "focus NAME" lines."""
import sys
from PyQt5.QtCore import QSocketNotifier
from PyQt5.QtWidgets import QApplication, QFormLayout, QLineEdit, QWidget

app = QApplication(sys.argv[:1])
window = QWidget()
window.setWindowTitle("Focus dialling Qt")
form = QFormLayout(window)
edits = {"plain": QLineEdit("Call back after lunch"), "phone": QLineEdit(sys.argv[1])}
form.addRow("Notes", edits["plain"])
form.addRow("Phone", edits["phone"])
window.show()

def command():
    line = sys.stdin.readline()
    if not line:
        app.quit()
        return
    edits[line.split()[1]].setFocus()
    print("done", flush=True)

notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Read)
notifier.activated.connect(command)
print("ready", flush=True)
app.exec_()
'''


class QtFields:
    """A Qt 5 program (Debian's python3-pyqt5) with line edits, its accessibility on (QT_ACCESSIBILITY=1)."""

    def __init__(self, a11y: AccessibilityBus, folder: Path, desktop: Desktop) -> None:
        program = folder / "qt_fields.py"
        program.write_text(QT_APP, encoding="utf-8")
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(program), PHONE],
            env={**a11y.env, "QT_ACCESSIBILITY": "1", "QT_QPA_PLATFORM": "xcb"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == b"ready"
        self.window = wait_until(lambda: window_named(desktop, "Focus dialling Qt", "--onlyvisible"), WAIT, what="Qt")

    def focus(self, name: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"focus {name}\n".encode())
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == b"done"

    def close(self) -> None:
        stop(self.process)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture(scope="module")
def qt_fields(a11y: AccessibilityBus, folder: Path, desktop: Desktop) -> Iterator[QtFields]:
    app = QtFields(a11y, folder, desktop)
    try:
        yield app
    finally:
        app.close()


class Chromium:
    """Debian's Chromium showing a web page with a phone input, accessibility on (as a screen reader turns it on)."""

    def __init__(self, a11y: AccessibilityBus, folder: Path, desktop: Desktop) -> None:
        page = folder / "page.html"
        page.write_text(WEB_PAGE, encoding="utf-8")
        self.process = subprocess.Popen(
            [CHROMIUM, "--no-sandbox", "--no-first-run", "--disable-gpu", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={folder / 'chromium-profile'}", "--window-position=0,0", "--window-size=900,500",
             "--force-renderer-accessibility", page.as_uri()],
            env={**a11y.env, "ACCESSIBILITY_ENABLED": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.window = wait_until(
            lambda: window_named(desktop, "Focus dialling page", "--onlyvisible"), 30, what="Chromium's window"
        )

    def close(self) -> None:
        stop(self.process)


@pytest.fixture(scope="module")
def chromium(a11y: AccessibilityBus, folder: Path, desktop: Desktop) -> Iterator[Chromium]:
    assert shutil.which(CHROMIUM), "chromium is not installed: run the README's test command (it installs it)"
    browser = Chromium(a11y, folder, desktop)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig, desktop: Desktop, a11y: AccessibilityBus, monkeypatch: pytest.MonkeyPatch
) -> DaemonConfig:
    """The daemon runs in the Xvfb session with the accessibility bus, focus dialling on."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", a11y.bus.address)
    run_daemon_on(desktop, partnercrmd_config, monkeypatch).focus_dialling = True
    return partnercrmd_config


@pytest.fixture
async def watching(api: ApiSession, fields: GtkFields) -> AsyncIterator[ApiSession]:
    """The daemon's focus dialling is watching the accessibility bus (and the hotkeys listen)."""
    focus = api.client.app[appkeys.FOCUS_DIALLING]
    await until(lambda: focus.watching, "focus dialling watching")
    await until(lambda: api.client.app[appkeys.DESKTOP_HOTKEYS].listening, "the hotkeys listening")
    yield api


async def until(condition: Any, what: str) -> None:
    try:
        async with asyncio.timeout(WAIT):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"waited {WAIT:g} s for {what}") from None


def window_named(desktop: Desktop, title: str, *options: str) -> str | None:
    """The first window whose title has `title`, else None."""
    found = subprocess.run(
        ["xdotool", "search", *options, "--name", title], env=desktop.env, capture_output=True, text=True, timeout=WAIT
    )
    return found.stdout.split()[0] if found.stdout.split() else None


def visible_button(desktop: Desktop) -> str | None:
    """The dial button's window while it is on screen, else None."""
    return window_named(desktop, WINDOW_TITLE, "--onlyvisible")


def geometry(desktop: Desktop, window: str) -> tuple[int, int, int, int]:
    values = dict(
        line.split("=", 1) for line in desktop.run("xdotool", "getwindowgeometry", "--shell", window).splitlines()
    )
    return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])


async def focus_and_wait_for_button(desktop: Desktop, fields: GtkFields) -> tuple[str, tuple[int, int, int, int]]:
    """Move the focus into the phone field (from another: a focus change is what is announced); the button."""
    await asyncio.to_thread(fields.focus, "plain")
    entry = await asyncio.to_thread(fields.focus, "phone")
    button: list[str] = []

    def shown() -> bool:
        found = visible_button(desktop)
        button[:] = [found] if found else []
        return found is not None

    await until(shown, "the dial button on screen")
    return button[0], entry


def save_screenshot(path: Path, area: tuple[int, int, int, int], display: str) -> None:
    import mss
    import mss.tools

    with mss.MSS(display=display) as screen:
        left, top, right, bottom = area
        shot = screen.grab({"left": left, "top": top, "width": right - left, "height": bottom - top})
        mss.tools.to_png(shot.rgb, shot.size, output=str(path))


# --- the tests -----------------------------------------------------------------------------------------------


async def test_a_focused_number_shows_the_dial_button_beside_it_and_clicking_dials(
    watching: ApiSession, desktop: Desktop, fields: GtkFields, tmp_path: Path
) -> None:
    async with watching.client.ws_connect(f"/api/v1/events/{watching.app_id}") as ws:
        button, (ex, ey, ew, eh) = await focus_and_wait_for_button(desktop, fields)
        bx, by, bw, bh = geometry(desktop, button)
        assert ex + ew <= bx <= ex + ew + 16, "the button sits just right of the field"
        assert by < ey + eh and ey < by + bh, "the button is level with the field"

        folder = Path(os.environ.get("PARTNERCRMD_SCREENSHOTS", tmp_path))
        window_x, window_y, _, window_h = geometry(desktop, fields.window)
        area = (max(0, window_x - 8), max(0, window_y - 8), bx + bw + 24, window_y + window_h + 8)
        save_screenshot(folder / "focus-dialling.png", area, desktop.display)

        await asyncio.to_thread(desktop.run, "xdotool", "mousemove", str(bx + bw // 2), str(by + bh // 2), "click", "1")
        event = await next_event(ws, "MakeCallRequest")
    assert event == {
        "EventType": "MakeCallRequest",
        "Source": "Selection",
        "Destination": "+442079460958",
        "E164": "+442079460958",
        "DisplayNumber": "020 7946 0958",
    }
    focused = await asyncio.to_thread(desktop.run, "xdotool", "getwindowfocus")
    assert focused.strip() == fields.window, "clicking the button left the focus in the GTK window"


async def test_the_hotkey_dials_the_focused_fields_number(
    watching: ApiSession, desktop: Desktop, fields: GtkFields
) -> None:
    async with watching.client.ws_connect(f"/api/v1/events/{watching.app_id}") as ws:
        await focus_and_wait_for_button(desktop, fields)
        await asyncio.to_thread(desktop.run, "xdotool", "key", "ctrl+alt+d")
        event = await next_event(ws, "MakeCallRequest")
    assert (event["Source"], event["E164"]) == ("Selection", "+442079460958")


async def test_a_field_without_a_number_shows_no_button(
    watching: ApiSession, desktop: Desktop, fields: GtkFields
) -> None:
    await focus_and_wait_for_button(desktop, fields)
    await asyncio.to_thread(fields.focus, "plain")
    await until(lambda: visible_button(desktop) is None, "the dial button to go")
    assert watching.client.app[appkeys.FOCUS_DIALLING].number is None


async def test_a_password_field_is_never_read(
    watching: ApiSession, desktop: Desktop, fields: GtkFields, a11y: AccessibilityBus, folder: Path
) -> None:
    monitor = BusMonitor(a11y, folder)
    try:
        await focus_and_wait_for_button(desktop, fields)
        await until(lambda: len(monitor.calls()) >= 2, "the phone field's text being read")  # the monitor works
        read_before = len(monitor.calls())
        await asyncio.to_thread(fields.focus, "secret")
        await until(lambda: visible_button(desktop) is None, "the dial button to go")
        await asyncio.sleep(0.5)  # time for any late read
        assert monitor.calls()[read_before:] == []
    finally:
        monitor.close()


async def test_with_the_surface_switched_off_no_button_but_the_hotkey_dials(
    watching: ApiSession, desktop: Desktop, fields: GtkFields, partnercrmd_config: DaemonConfig
) -> None:
    vault = watching.client.app[appkeys.VAULT]
    await asyncio.to_thread(change_settings, vault, {setting_key(Surface.FOCUS_DIALLING): "off"})  # the user's switch
    await until(lambda: not daemon_draws(partnercrmd_config, Surface.FOCUS_DIALLING), "the switch taken up")
    async with watching.client.ws_connect(f"/api/v1/events/{watching.app_id}") as ws:
        await asyncio.to_thread(fields.focus, "plain")
        await asyncio.to_thread(fields.focus, "phone")
        focus = watching.client.app[appkeys.FOCUS_DIALLING]
        await until(lambda: focus.number is not None, "the focused number seen")
        assert not focus.button.shown
        await asyncio.sleep(1.5)  # longer than the button's window takes to start and show
        assert visible_button(desktop) is None
        await asyncio.to_thread(desktop.run, "xdotool", "key", "ctrl+alt+d")
        event = await next_event(ws, "MakeCallRequest")
    assert event["E164"] == "+442079460958"


async def test_while_click_to_dial_is_paused_the_button_goes_and_returns_on_resume(
    watching: ApiSession, desktop: Desktop, fields: GtkFields
) -> None:
    dial = watching.client.app[appkeys.DIAL]
    await focus_and_wait_for_button(desktop, fields)
    dial.pause()
    await until(lambda: visible_button(desktop) is None, "the dial button to go while paused")
    dial.resume()
    await until(lambda: visible_button(desktop) is not None, "the dial button back after the pause")


async def test_a_number_typed_into_the_focused_field_brings_the_button(
    watching: ApiSession, desktop: Desktop, fields: GtkFields
) -> None:
    await focus_and_wait_for_button(desktop, fields)
    await asyncio.to_thread(fields.focus, "empty")
    await until(lambda: visible_button(desktop) is None, "the dial button to go")
    await asyncio.to_thread(desktop.run, "xdotool", "type", "--delay", "20", "0161 496 0123")
    await until(lambda: visible_button(desktop) is not None, "the dial button for the typed number")
    number = watching.client.app[appkeys.FOCUS_DIALLING].number
    assert number is not None and number.e164 == "+441614960123"


async def test_a_number_in_a_web_page_input_in_chromium_shows_the_button_and_clicking_dials(
    api: ApiSession, desktop: Desktop, chromium: Chromium
) -> None:
    focus = api.client.app[appkeys.FOCUS_DIALLING]
    await until(lambda: focus.watching, "focus dialling watching")
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await asyncio.to_thread(desktop.run, "xdotool", "windowfocus", "--sync", chromium.window)
        await asyncio.to_thread(desktop.run, "xdotool", "key", "--window", chromium.window, "Tab")
        button: list[str] = []

        def shown() -> bool:
            button[:] = [found] if (found := visible_button(desktop)) else []
            return bool(button)

        await until(shown, "the dial button beside the web page's input")
        bx, by, bw, bh = geometry(desktop, button[0])
        await asyncio.to_thread(desktop.run, "xdotool", "mousemove", str(bx + bw // 2), str(by + bh // 2), "click", "1")
        event = await next_event(ws, "MakeCallRequest")
    assert (event["Source"], event["E164"]) == ("Selection", "+442079460958")


async def test_switched_on_while_a_field_with_a_number_has_the_focus_the_button_appears(
    api: ApiSession, desktop: Desktop, fields: GtkFields, partnercrmd_config: DaemonConfig
) -> None:
    focus = api.client.app[appkeys.FOCUS_DIALLING]
    partnercrmd_config.focus_dialling = False
    await until(lambda: not focus.watching, "focus dialling off")
    await asyncio.to_thread(fields.focus, "plain")
    await asyncio.to_thread(fields.focus, "phone")  # while nobody listens: no event will say so again
    partnercrmd_config.focus_dialling = True
    await until(lambda: visible_button(desktop) is not None, "the dial button for the field focused before")


async def test_a_number_in_a_qt_line_edit_shows_the_button_and_clicking_dials(
    api: ApiSession, desktop: Desktop, qt_fields: QtFields
) -> None:
    focus = api.client.app[appkeys.FOCUS_DIALLING]
    await until(lambda: focus.watching, "focus dialling watching")
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await asyncio.to_thread(desktop.run, "xdotool", "windowfocus", "--sync", qt_fields.window)
        await asyncio.to_thread(qt_fields.focus, "plain")
        await asyncio.to_thread(qt_fields.focus, "phone")
        button: list[str] = []

        def shown() -> bool:
            button[:] = [found] if (found := visible_button(desktop)) else []
            return bool(button)

        await until(shown, "the dial button beside the Qt line edit")
        bx, by, bw, bh = geometry(desktop, button[0])
        await asyncio.to_thread(desktop.run, "xdotool", "mousemove", str(bx + bw // 2), str(by + bh // 2), "click", "1")
        event = await next_event(ws, "MakeCallRequest")
    assert (event["Source"], event["E164"]) == ("Selection", "+442079460958")


async def test_a_number_in_a_web_page_input_in_firefox_shows_the_button(
    api: ApiSession, desktop: Desktop, a11y: AccessibilityBus, folder: Path
) -> None:
    focus = api.client.app[appkeys.FOCUS_DIALLING]
    await until(lambda: focus.watching, "focus dialling watching")
    page = folder / "firefox-page.html"
    page.write_text(WEB_PAGE.replace("Focus dialling page", "Focus dialling Firefox"), encoding="utf-8")
    profile = folder / "firefox-profile"
    profile.mkdir(exist_ok=True)
    firefox = subprocess.Popen(
        ["firefox-esr", "--no-remote", "--profile", str(profile), page.as_uri()],
        env={**a11y.env, "GNOME_ACCESSIBILITY": "1", "MOZ_DISABLE_CONTENT_SANDBOX": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        window = await asyncio.to_thread(
            wait_until, lambda: window_named(desktop, "Focus dialling Firefox", "--onlyvisible"), 60, what="Firefox"
        )
        await asyncio.to_thread(desktop.run, "xdotool", "windowfocus", "--sync", window)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(desktop.run, "xdotool", "key", "Tab")
        await until(lambda: visible_button(desktop) is not None, "the dial button beside Firefox's input")
        assert focus.number is not None and focus.number.e164 == "+442079460958"
    finally:
        stop(firefox)
