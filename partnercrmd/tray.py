"""The tray icon: the branded product's name and icon, with Open settings, Call history, Pause click-to-dial for an
hour and Quit.

pystray runs its own loop, so the icon lives in its own thread; its menu callbacks only hand work to the daemon's
event loop (`call_soon_threadsafe`), and the loop never waits on the tray. pystray picks the system's way: the
notification area of Windows, the macOS menu bar, on Linux a StatusNotifierItem (AppIndicator, through PyGObject)
or GTK's status icon where PyGObject is installed, else the X11 system tray (the XEmbed protocol), where pystray
0.19 shows the name and icon but has neither a menu nor clicks (the Dialling page has Pause there). Without a
display (or with no way to show an icon) there is no tray: one log line, and the daemon runs on. Shown while
`surfaces.daemon_draws(config, Surface.TRAY)` says so, which the tray follows while the daemon runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .platform import graphical_session_problem
from .surfaces import Surface, daemon_draws
from .thread_start import start_in_thread, stop_in_thread

if TYPE_CHECKING:
    from PIL.Image import Image

    from .config import DaemonConfig
    from .dialling.service import DialService

log = logging.getLogger(__name__)

ICON_SIZE = 64
FOLLOW_INTERVAL = 1.0
"""Seconds between two looks at the tray's switch (the Dialling page, the branding)."""
STOP_TIMEOUT = 5.0
"""Seconds the tray's thread has to end once asked; past that it is left behind (a daemon thread)."""
DEFAULT_COLOUR = "#1f6feb"


@dataclass(frozen=True)
class TrayActions:
    """What the menu does; each runs on the daemon's event loop."""

    open_settings: Callable[[], None]
    call_history: Callable[[], None]
    toggle_pause: Callable[[], None]
    quit: Callable[[], None]
    pause_label: Callable[[], str]
    """The pause item's text as things stand: "Pause click-to-dial for an hour" or "Resume click-to-dial (…)"."""


def icon_image(logo: Any, colour: str, product_name: str) -> Image | None:
    """The tray's picture: the partner's logo when Pillow can read it, else the product's initial on its colour;
    None without Pillow (the `tray` extra is not installed)."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return None

    if logo is not None:
        try:
            with Image.open(logo) as opened:
                return opened.convert("RGBA").resize((ICON_SIZE, ICON_SIZE))
        except (OSError, ValueError) as exc:  # an SVG or a broken file: the drawn icon, and say why
            log.info("the tray icon cannot use the logo %s (%s); it shows the product's initial", logo, exc)
    image = Image.new("RGBA", (ICON_SIZE, ICON_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    try:
        draw.ellipse((2, 2, ICON_SIZE - 3, ICON_SIZE - 3), fill=colour)
    except ValueError:  # a CSS colour Pillow does not know
        draw.ellipse((2, 2, ICON_SIZE - 3, ICON_SIZE - 3), fill=DEFAULT_COLOUR)
    initial = (product_name.strip()[:1] or "P").upper()
    font = ImageFont.load_default(size=40)
    draw.text((ICON_SIZE / 2, ICON_SIZE / 2), initial, fill="white", font=font, anchor="mm")
    return image


class _NoTrayHost(logging.Filter):
    """pystray's X11 backend logs an error with a traceback each time it finds no system tray to dock into: the
    first becomes one line of ours, the rest nothing (a desktop without a tray is not an error of the daemon)."""

    said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() != "Failed to dock icon":
            return True
        if not _NoTrayHost.said:
            _NoTrayHost.said = True
            log.info("no system tray on this desktop: the tray icon is not shown")
        return False


PYSTRAY_LOGGER = "pystray._base"
_NO_TRAY_HOST = _NoTrayHost()


def _quiet_icon_class(icon_class: Any) -> Any:
    """pystray's icon class with a finaliser that cannot fail.

    The X11 backend's `__del__` talks to the display: it raises (and the error is printed at some random collection)
    when the display connection is already closed, the desktop session has ended, or the icon never got as far as
    connecting.
    """

    class QuietIcon(icon_class):  # type: ignore[misc]  # a class pystray chooses at import: Any to mypy
        def __del__(self) -> None:
            if hasattr(self, "_mainloop"):
                self._running = False  # the X11 loop has ended (its window is gone): nothing left to stop
            finaliser = getattr(super(), "__del__", None)
            if finaliser is not None:
                with contextlib.suppress(Exception):
                    finaliser()

    return QuietIcon


class TrayIcon:
    """A pystray icon in its own thread; `start` and `stop` are called from the event loop (through to_thread)."""

    def __init__(
        self,
        title: str,
        name: str,
        image: Image | None,
        actions: TrayActions,
        loop: asyncio.AbstractEventLoop,
        install_hint: str = "",
    ) -> None:
        self.title = title
        self.install_hint = install_hint
        """What the user does to add the tray (the `tray` extra), said when pystray or Pillow is missing."""
        self.name = name
        self.image = image
        self.actions = actions
        self.loop = loop
        self.icon: Any = None
        """The pystray.Icon once shown (tests invoke its menu through pystray, as the menu would)."""
        self.problem = ""
        """Why there is no tray icon (empty while it is shown or starting)."""
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def _on_loop(self, action: Callable[[], None]) -> Callable[..., None]:
        """A menu callback (pystray's thread) that only hands `action` to the event loop."""

        def callback(*_: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closing: the click is dropped
                self.loop.call_soon_threadsafe(action)

        return callback

    def _menu(self, pystray: Any) -> Any:
        item, actions = pystray.MenuItem, self.actions
        return pystray.Menu(
            item("Open settings", self._on_loop(actions.open_settings), default=True),
            item("Call history", self._on_loop(actions.call_history)),
            item(lambda _: actions.pause_label(), self._on_loop(actions.toggle_pause)),
            pystray.Menu.SEPARATOR,
            item("Quit", self._on_loop(actions.quit)),
        )

    def _run(self) -> None:
        """The tray's thread: import pystray (it connects to the display on import), show the icon, run its loop."""
        pystray_log = logging.getLogger(PYSTRAY_LOGGER)
        if _NO_TRAY_HOST not in pystray_log.filters:
            pystray_log.addFilter(_NO_TRAY_HOST)
        try:
            import pystray

            if self.image is None:
                raise ImportError("Pillow is not installed")
            self.icon = _quiet_icon_class(pystray.Icon)(self.name, self.image, self.title, self._menu(pystray))
        except ImportError as exc:  # the optional part is not installed: say what to do, once
            self.problem = f"the tray icon is not installed ({exc}): {self.install_hint}"
            log.info("no tray icon: %s", self.problem)
            self._ready.set()
            return
        except Exception as exc:  # noqa: BLE001  (no display, no backend: the daemon runs without a tray)
            self.problem = f"{type(exc).__name__}: {exc}"
            log.info("no tray icon on this desktop (%s)", self.problem)
            self._ready.set()
            return

        def shown(icon: Any) -> None:
            # pystray's X11 backend names the thread its loop runs in only after it has started this setup, and
            # showing the icon before that fails: wait for it (other backends have no such attribute).
            deadline = time.monotonic() + STOP_TIMEOUT
            while hasattr(type(icon), "_mainloop") and getattr(icon, "_thread", None) is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            try:
                icon.visible = True
            except Exception as exc:  # noqa: BLE001  (the icon cannot be shown: said once, the daemon runs on)
                self.problem = f"{type(exc).__name__}: {exc}"
                log.warning("the tray icon cannot be shown (%s)", self.problem)
            finally:
                self._ready.set()

        try:
            self.icon.run(setup=shown)
        except Exception as exc:  # noqa: BLE001  (the tray's loop failed: the daemon runs on without it)
            self.problem = f"{type(exc).__name__}: {exc}"
            log.warning("the tray icon stopped (%s)", self.problem)
        finally:
            self._ready.set()
            # pystray's X11 icon closes its display connection only when it is collected: close it now, while the
            # display is surely there (a full collection here stalls a large process for seconds).
            icon, self.icon = self.icon, None
            display = getattr(icon, "_display", None)
            if display is not None:
                with contextlib.suppress(Exception):  # already closed with the display
                    display.close()

    def start(self) -> None:
        """Start the tray's thread; returns once the icon is shown or known to be impossible (blocks: to_thread)."""
        self._thread = threading.Thread(target=self._run, name="tray", daemon=True)
        self._thread.start()
        self._ready.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """Take the icon away and end its thread (blocks: to_thread)."""
        icon = self.icon
        if icon is not None:
            # pystray's stop from another thread waits for the icon's loop to answer, with no time limit: it gets
            # its own (daemon) thread, so a loop that never answers costs STOP_TIMEOUT, not the daemon's shutdown.
            threading.Thread(target=self._stop_icon, args=(icon,), name="tray-stop", daemon=True).start()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                log.warning("the tray icon did not stop within %g s; it is left behind", STOP_TIMEOUT)

    @staticmethod
    def _stop_icon(icon: Any) -> None:
        window = getattr(icon, "_window", None)
        if window is not None and hasattr(type(icon), "_mainloop"):
            # pystray's X11 backend stops by asking its own loop to destroy the icon's window and waiting for the
            # answer, which sometimes never comes. Its loop also ends when that window is destroyed by anyone: do
            # it from a connection of our own.
            from Xlib import display  # type: ignore[import-untyped]  # python-xlib (pystray's) ships no type information

            with contextlib.suppress(Exception):  # already gone with its display
                connection = display.Display(icon._display.get_display_name())
                try:
                    connection.create_resource_object("window", window.id).destroy()
                    connection.sync()
                finally:
                    connection.close()
            return
        with contextlib.suppress(Exception):  # already gone with its display
            icon.stop()

    def refresh_menu(self) -> None:
        """Redraw the menu's texts (the pause item changed); blocks briefly on some backends (to_thread)."""
        if self.icon is not None:
            with contextlib.suppress(Exception):
                self.icon.update_menu()


class Tray:
    """The daemon's side of the tray: shows a `TrayIcon` while partnercrmd draws it, and does what its menu asks."""

    def __init__(
        self,
        config: DaemonConfig,
        dial: DialService,
        login_url: Callable[[str], str],
        stop_daemon: Callable[[], None] | None,
    ) -> None:
        self.config = config
        self.dial = dial
        self.login_url = login_url
        """A one-time login address of a configuration page (pages.window_login_url)."""
        self.stop_daemon = stop_daemon
        """Stops the daemon cleanly (`serve`'s stop event); None where the daemon was not started by `serve`."""
        self.icon: TrayIcon | None = None
        """The icon on screen (or that could not be shown: see its `problem`); None while switched off."""
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def actions(self) -> TrayActions:
        return TrayActions(
            open_settings=lambda: self._open("configuration"),
            call_history=lambda: self._open("callhistory"),
            toggle_pause=self.toggle_pause,
            quit=self.quit,
            pause_label=self.pause_label,
        )

    def _open(self, window: str) -> None:
        """Open a configuration page in the browser through a one-time login address, as `partnercrmd ui` does."""
        self._spawn(self._opened(self.login_url(window)))

    async def _opened(self, url: str) -> None:
        if await self.config.opener(url) is False:
            log.warning("the tray could not open a web browser; `partnercrmd ui` prints the address")

    def toggle_pause(self) -> None:
        if self.dial.paused_until is None:
            self.dial.pause()
            log.info("click-to-dial paused for an hour from the tray")
        else:
            self.dial.resume()
            log.info("click-to-dial resumed from the tray")
        if self.icon is not None:
            self._spawn(asyncio.to_thread(self.icon.refresh_menu))

    def pause_label(self) -> str:
        resumes = self.dial.paused_until
        if resumes is None:
            return "Pause click-to-dial for an hour"
        return f"Resume click-to-dial (paused until {resumes:%H:%M})"

    def quit(self) -> None:
        stop = self.stop_daemon
        if stop is None:
            log.warning("Quit from the tray: this daemon was not started by `serve`; it cannot stop itself")
            return
        log.info("Quit from the tray: stopping")
        stop()

    async def _show(self) -> TrayIcon:
        branding = self.config.branding
        hint = branding.install_hint.replace("{extra}", "tray")
        problem = graphical_session_problem()
        image = None
        if problem is None:
            image = await asyncio.to_thread(
                icon_image, branding.logo, branding.colours.get("primary", DEFAULT_COLOUR), branding.product_name
            )
        icon = TrayIcon(branding.product_name, branding.slug, image, self.actions(), asyncio.get_running_loop(), hint)
        if problem is not None:  # nothing to dock into: Pillow and pystray (and its X client) are not even loaded
            icon.problem = problem
            log.info("no tray icon: %s", problem)
            return icon
        await start_in_thread(icon.start, lambda _: icon.stop())
        return icon

    async def follow_switch(self) -> None:
        """Show the icon while partnercrmd draws the tray; take it away when the user or partner switches it off."""
        while True:
            wanted = daemon_draws(self.config, Surface.TRAY)
            if wanted and self.icon is None:
                self.icon = await self._show()
            elif not wanted and self.icon is not None:
                await self.hide()
            await asyncio.sleep(FOLLOW_INTERVAL)

    async def hide(self) -> None:
        icon, self.icon = self.icon, None
        if icon is not None:
            await stop_in_thread(TrayIcon.stop, icon)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.hide()
