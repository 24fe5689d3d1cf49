"""The tray icon: the branded name docked in a real X11 system tray, and its menu (Open settings, Call history,
Pause click-to-dial for an hour, Quit) doing what it says.

Xvfb (tests/desktop_session.py) with Debian's `trayer` as the tray host: it owns the `_NET_SYSTEM_TRAY_S0`
selection and embeds the icons' windows (XEmbed), which is what pystray's X11 backend docks into here (no PyGObject,
so no StatusNotifierItem). The name is read from the X server (the icon window's WM_NAME, its parent in the tray);
the menu is invoked through pystray's own path (`MenuItem(icon)`, what a click on the item runs), from pystray's
side of the thread boundary.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import partnercrmd.daemon
from partnercrmd import appkeys
from partnercrmd.branding import load_branding_file
from partnercrmd.config import DaemonConfig
from partnercrmd.daemon import run_daemon
from partnercrmd.dialling.service import DialService
from partnercrmd.testing import ApiSession, RecordingOpener, run_cli
from partnercrmd.vault_sync import reload_vault
from tests.daemon_process import Daemon, wait_until
from tests.desktop_session import Desktop, run_daemon_on, stop

PRODUCT = "Acme Connect"
WAIT = 10.0


def tray_owner(desktop: Desktop) -> int:
    """The window that owns the X11 system tray selection on `desktop` (0: none)."""
    from Xlib import display  # type: ignore[import-untyped]  # python-xlib (pystray's) ships no type information

    connection = display.Display(desktop.display)
    try:
        owner = connection.get_selection_owner(connection.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return int(getattr(owner, "id", 0))
    finally:
        connection.close()


@pytest.fixture(scope="module")
def trayer(desktop: Desktop) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's trayer, a system tray host, on the test display."""
    assert shutil.which("trayer"), "trayer is not installed: run the README's test command (it installs it)"
    process = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"],
        env=desktop.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: tray_owner(desktop), timeout=WAIT, what="trayer owning the system tray")
        yield process
    finally:
        stop(process)


def windows_named(desktop: Desktop, name: str) -> list[str]:
    found = subprocess.run(
        ["xdotool", "search", "--name", f"^{name}$"], env=desktop.env, capture_output=True, text=True, timeout=10
    )
    return found.stdout.split()


def docked_in_tray(desktop: Desktop, window: str) -> bool:
    """Whether `window` sits inside the tray host's window (its parent is not the root window)."""
    from Xlib import display

    connection = display.Display(desktop.display)
    try:
        tree = connection.create_resource_object("window", int(window)).query_tree()
        return bool(tree.parent.id != connection.screen().root.id)
    finally:
        connection.close()


def write_product_branding(folder: Path, *, tray: str = "daemon") -> Path:
    branding = folder / "branding.toml"
    branding.write_text(f'[product]\nname = "{PRODUCT}"\n[surfaces]\ntray = "{tray}"\n', encoding="utf-8")
    return branding


# --- the icon on screen, from a real `partnercrmd serve` --------------------------------------------------------


def test_serve_docks_an_icon_with_the_branded_name_in_the_system_tray(
    desktop: Desktop, trayer: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    branding = write_product_branding(tmp_path)
    daemon = Daemon(
        tmp_path / "home",
        extra_env={"DISPLAY": desktop.display, "PARTNERCRMD_BRANDING": str(branding), "WAYLAND_DISPLAY": ""},
    )
    try:
        daemon.start()
        window = wait_until(lambda: windows_named(desktop, PRODUCT), timeout=WAIT, what="the tray icon's window")[0]
        assert desktop.run("xprop", "-id", window, "WM_NAME").strip() == f'WM_NAME(STRING) = "{PRODUCT}"'
        assert "_XEMBED_INFO" in desktop.run("xprop", "-id", window)
        wait_until(lambda: docked_in_tray(desktop, window), timeout=WAIT, what="the icon docked in trayer")
        assert daemon.stop() == 0
        assert windows_named(desktop, PRODUCT) == []  # the icon went with the daemon
    finally:
        daemon.close()


# --- the menu, through pystray ----------------------------------------------------------------------------------


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig,
    desktop: Desktop,
    trayer: subprocess.Popen[bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> DaemonConfig:
    """The "Acme Connect" daemon on the test display, where trayer runs."""
    run_daemon_on(desktop, partnercrmd_config, monkeypatch)
    partnercrmd_config.branding = load_branding_file(write_product_branding(tmp_path))
    return partnercrmd_config


async def until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (result := condition()):
        assert time.monotonic() < deadline, f"waited {WAIT:g} s for {what}"
        await asyncio.sleep(0.05)
    return result


async def shown_icon(app: web.Application) -> Any:
    """The pystray icon once the tray shows it."""
    tray = app[appkeys.TRAY]
    return await until(lambda: tray.icon is not None and tray.icon.icon is not None and tray.icon.icon, "the icon")


async def choose(icon: Any, text: str) -> None:
    """Run the menu item whose text starts with `text`, as pystray does when it is clicked (pystray's thread)."""
    item = next(item for item in icon.menu.items if str(item.text).startswith(text))
    await asyncio.to_thread(item, icon)


def item_texts(icon: Any) -> list[str]:
    return [str(item.text) for item in icon.menu.items if item is not icon.menu.SEPARATOR]


async def test_the_menu_opens_settings_and_call_history_through_one_time_login_links(
    api: ApiSession, partnercrmd_opener: RecordingOpener
) -> None:
    icon = await shown_icon(api.client.app)
    assert icon.title == PRODUCT
    assert item_texts(icon) == ["Open settings", "Call history", "Pause click-to-dial for an hour", "Quit"]
    await choose(icon, "Open settings")
    await choose(icon, "Call history")
    await until(lambda: len(partnercrmd_opener.urls) == 2, "two pages opened")
    port = api.client.port
    assert [url.split("?")[1] for url in partnercrmd_opener.urls] == ["window=configuration", "window=callhistory"]
    assert all(url.startswith(f"http://127.0.0.1:{port}/ui/login/") for url in partnercrmd_opener.urls)
    for url, page in zip(partnercrmd_opener.urls, ("/ui/configuration", "/ui/callhistory"), strict=True):
        response = await api.client.get(url.split(str(port), 1)[1])  # the link logs the user in, then the page
        assert response.status == 200 and response.url.path == page


async def test_pause_stops_every_click_to_dial_source_until_resumed(api: ApiSession) -> None:
    app = api.client.app
    icon = await shown_icon(app)
    await choose(icon, "Pause click-to-dial")
    dial = app[appkeys.DIAL]
    await until(lambda: dial.paused_until is not None, "the pause")
    resumes = dial.paused_until
    assert resumes is not None
    assert item_texts(icon)[2] == f"Resume click-to-dial (paused until {resumes:%H:%M})"

    refused = await api.request("POST", "Dial", Destination="020 7946 0958", Source="Api")
    assert refused.status == 409
    assert (await refused.json())["Code"] == "dialling_paused"

    await choose(icon, "Resume click-to-dial")
    await until(lambda: dial.paused_until is None, "the resume")
    assert item_texts(icon)[2] == "Pause click-to-dial for an hour"
    dialled = await api.request("POST", "Dial", Destination="020 7946 0958", Source="Api")
    assert dialled.status == 200


def test_a_pause_ends_by_itself_after_an_hour() -> None:
    now = [1000.0]
    from partnercrmd.dialling.rules import DiallingRules
    from partnercrmd.events import EventHub

    dial = DialService(EventHub(), lambda: DiallingRules("GB"), clock=lambda: now[0])
    dial.pause()
    now[0] += 3599
    assert dial.paused_until is not None
    now[0] += 1
    assert dial.paused_until is None
    assert dial.request("020 7946 0958", source=partnercrmd.dialling.service.DialSource.API, client="t").e164


async def test_the_users_switch_takes_the_icon_away_and_brings_it_back(api: ApiSession, desktop: Desktop) -> None:
    app = api.client.app
    await shown_icon(app)
    await until(lambda: windows_named(desktop, PRODUCT), "the icon's window")
    assert await asyncio.to_thread(run_cli, ["settings", "set", "draw_tray=off"]) == 0
    await reload_vault(app)
    await until(lambda: app[appkeys.TRAY].icon is None and not windows_named(desktop, PRODUCT), "the icon gone")
    assert await asyncio.to_thread(run_cli, ["settings", "set", "draw_tray=on"]) == 0
    await reload_vault(app)
    await until(lambda: windows_named(desktop, PRODUCT), "the icon back")


@pytest.fixture
async def daemon_app(
    partnercrmd_config: DaemonConfig, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[web.Application, asyncio.Task[None]]]:
    """`run_daemon` (what `serve` runs) in this loop, and the app it made (seen as `create_app` returns it)."""
    made: list[web.Application] = []

    def create_app(config: DaemonConfig) -> web.Application:
        made.append(partnercrmd.app.create_app(config))
        return made[-1]

    import partnercrmd.app

    monkeypatch.setattr(partnercrmd.daemon, "create_app", create_app)
    serving = asyncio.create_task(run_daemon(partnercrmd_config, asyncio.Event()))
    await until(lambda: partnercrmd_config.paths.discovery_file.exists() or serving.done(), "the daemon serving")
    assert not serving.done(), serving
    try:
        yield made[0], serving
    finally:
        if not serving.done():
            made[0][appkeys.STOP_DAEMON]()
        await serving


async def test_quit_stops_the_daemon_cleanly(
    daemon_app: tuple[web.Application, asyncio.Task[None]],
    partnercrmd_config: DaemonConfig,
    desktop: Desktop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, serving = daemon_app
    caplog.set_level(logging.INFO)
    icon = await shown_icon(app)
    await choose(icon, "Quit")
    await asyncio.wait_for(serving, WAIT)
    assert serving.exception() is None
    assert not partnercrmd_config.paths.discovery_file.exists()  # the clean way out: the discovery file is gone
    assert "Quit from the tray: stopping" in caplog.text
    assert windows_named(desktop, PRODUCT) == []


async def test_without_a_display_there_is_no_tray_and_the_daemon_serves(
    partnercrmd_home: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, aiohttp_client: Any
) -> None:
    from partnercrmd.app import create_app

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    # Neither is even imported without a desktop (an import of either would now fail, and say "not installed").
    monkeypatch.setitem(sys.modules, "pystray", None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    caplog.set_level(logging.INFO, logger="partnercrmd.tray")
    app = create_app(DaemonConfig(paths=partnercrmd_home, port=0, region="GB"))
    client = await aiohttp_client(app)
    await until(lambda: "no tray icon" in caplog.text, "the log line")
    assert [r.getMessage() for r in caplog.records if r.name == "partnercrmd.tray"] == [
        "no tray icon: partnercrmd runs outside a graphical session (DISPLAY and WAYLAND_DISPLAY are not set). "
        "Start it from the desktop session (its autostart entry or systemd user unit)."
    ]
    assert (await client.get("/api/v1/Version")).status == 200


async def test_without_the_tray_extra_one_line_says_what_to_install_and_the_daemon_serves(
    partnercrmd_home: Any,
    desktop: Desktop,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    aiohttp_client: Any,
) -> None:
    from partnercrmd.app import create_app

    monkeypatch.setitem(sys.modules, "pystray", None)  # what Python does for an import of a missing package
    monkeypatch.setenv("DISPLAY", desktop.display)
    caplog.set_level(logging.INFO, logger="partnercrmd.tray")
    app = create_app(DaemonConfig(paths=partnercrmd_home, port=0, region="GB"))
    client = await aiohttp_client(app)
    await until(lambda: "no tray icon" in caplog.text, "the log line")
    assert [r.getMessage() for r in caplog.records if r.name == "partnercrmd.tray"] == [
        "no tray icon: the tray icon is not installed (import of pystray halted; None in sys.modules): "
        "pip install 'partnercrmd[tray]'"
    ]
    assert (await client.get("/api/v1/Version")).status == 200
