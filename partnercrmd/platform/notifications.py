"""Desktop notifications, per platform: a plain one (title and message) and one that asks (buttons).

A plain notification goes through each system's own command:

Linux: `notify-send` (libnotify). macOS: `osascript`, with the texts passed as arguments of an
AppleScript `on run argv` handler, so no text is ever parsed as AppleScript. Windows: a toast through
Windows PowerShell's WinRT bridge, as an -EncodedCommand whose texts are single-quoted PowerShell
literals (every kind of single quote doubled), so no text is ever parsed as PowerShell.

A notification that asks (`Asker`: Allow / Deny for an application that waits for approval) needs the answer
back, so it goes through `desktop-notifier`, which serves the freedesktop notification service on Linux's
D-Bus session, the Windows toast centre (WinRT) and macOS's notification centre. Where it cannot ask (no D-Bus
session or no notification service; a service without buttons; macOS outside a signed app bundle, where
desktop-notifier only pretends) `ask` answers False and the caller relies on its other ways.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from . import MACOS, WINDOWS, Runner, run_tool, system

if TYPE_CHECKING:
    from desktop_notifier import DesktopNotifier

log = logging.getLogger(__name__)

APP_NAME = "partnercrmd"
MAX_TEXT = 500
"""Longer texts are cut: a notification is a line or two."""
POWERSHELL_APP_ID = r"{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe"
"""The application id toasts are shown under (Windows PowerShell's own, registered on every Windows 10/11)."""
POWERSHELL_QUOTES = "'\u2018\u2019\u201a\u201b"
"""What PowerShell takes for a single quote inside a single-quoted string."""


class Notifier(Protocol):
    def notify(self, title: str, message: str) -> bool:
        """Show the notification; False when the system would not (no notification service, no command)."""
        ...


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def linux_command(title: str, message: str) -> list[str]:
    return ["notify-send", f"--app-name={APP_NAME}", "--", _short(title), _short(message)]


def macos_command(title: str, message: str) -> list[str]:
    script = ("on run argv", "display notification (item 2 of argv) with title (item 1 of argv)", "end run")
    return ["osascript", *(part for line in script for part in ("-e", line)), _short(title), _short(message)]


def powershell_literal(text: str) -> str:
    """`text` as a single-quoted PowerShell string."""
    return "'" + "".join(c + c if c in POWERSHELL_QUOTES else c for c in text) + "'"


def windows_script(title: str, message: str) -> str:
    """The PowerShell that shows the toast."""
    manager = "[Windows.UI.Notifications.ToastNotificationManager]"
    return "\n".join(
        [
            "$ErrorActionPreference = 'Stop'",
            f"{manager[:-1]}, Windows.UI.Notifications, ContentType = WindowsRuntime] > $null",
            f"$template = {manager}::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)",
            "$texts = $template.GetElementsByTagName('text')",
            f"$texts.Item(0).AppendChild($template.CreateTextNode({powershell_literal(_short(title))})) > $null",
            f"$texts.Item(1).AppendChild($template.CreateTextNode({powershell_literal(_short(message))})) > $null",
            "$toast = [Windows.UI.Notifications.ToastNotification]::new($template)",
            f"{manager}::CreateToastNotifier({powershell_literal(POWERSHELL_APP_ID)}).Show($toast)",
        ]
    )


def windows_command(title: str, message: str) -> list[str]:
    encoded = base64.b64encode(windows_script(title, message).encode("utf-16-le")).decode("ascii")
    return ["powershell.exe", "-NoProfile", "-NonInteractive", "-WindowStyle", "Hidden", "-EncodedCommand", encoded]


@dataclass
class CommandNotifier:
    """Runs the platform's notification command with `runner`."""

    platform: str
    runner: Runner = run_tool

    def notify(self, title: str, message: str) -> bool:
        name = system(self.platform)
        build = {WINDOWS: windows_command, MACOS: macos_command}.get(name, linux_command)
        return self.runner(build(title, message)).returncode == 0


def for_platform(platform: str | None = None, runner: Runner = run_tool) -> Notifier:
    """The notifier for `platform` (sys.platform by default)."""
    return CommandNotifier(system(platform), runner)


# --- notifications that ask ---------------------------------------------------------------------------

ASK_TIMEOUT = 5.0
"""Seconds to reach the notification service; past that the notification counts as not shown."""


@dataclass(frozen=True)
class Choice:
    """A button of a notification that asks: `key` is what the caller gets back, `label` what the user reads."""

    key: str
    label: str


class Asker(Protocol):
    async def ask(
        self, title: str, message: str, choices: Sequence[Choice], on_choice: Callable[[str], None]
    ) -> str | None:
        """Show a notification with a button per choice; `on_choice(key)` when one is pressed (on the event loop).

        `on_choice("")` when the user closes it without choosing (nothing was decided).

        The notification's id, or None when it could not be shown with its buttons.
        """
        ...

    async def withdraw(self, notification: str) -> None:
        """Take a notification `ask` showed off the screen (it was answered some other way)."""
        ...

    async def close(self) -> None:
        """Let go of the notification service (the daemon stops)."""
        ...


class DesktopAsker:
    """`Asker` through desktop-notifier (D-Bus on Linux, WinRT on Windows, the notification centre on macOS).

    Made for the running event loop; the library is imported on first use (the CLI's light commands never
    load it). A failure to reach the service is logged once per outage and the service is tried afresh on the
    next `ask`.
    """

    def __init__(self, app_name: str) -> None:
        self.app_name = app_name
        self._notifier: DesktopNotifier | None = None
        self._failing = False
        self._closing: set[asyncio.Task[None]] = set()

    def _pressed(self, on_choice: Callable[[str], None], key: str, server_id: list[int]) -> Callable[[], None]:
        def pressed() -> None:
            on_choice(key)
            if self._notifier is not None and server_id:
                task = asyncio.get_running_loop().create_task(_close_on_server(self._notifier, server_id[0]))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

        return pressed

    async def _connected(self) -> DesktopNotifier:
        if self._notifier is None:
            from desktop_notifier import DesktopNotifier

            self._notifier = DesktopNotifier(app_name=self.app_name, app_icon=None)
        return self._notifier

    async def ask(
        self, title: str, message: str, choices: Sequence[Choice], on_choice: Callable[[str], None]
    ) -> str | None:
        from desktop_notifier import Button, Capability

        try:
            async with asyncio.timeout(ASK_TIMEOUT):
                notifier = await self._connected()
                if Capability.BUTTONS not in await notifier.get_capabilities():
                    raise LookupError("the notification service shows no buttons")
                server_id: list[int] = []
                buttons = [
                    Button(title=c.label, identifier=c.key, on_pressed=self._pressed(on_choice, c.key, server_id))
                    for c in choices
                ]
                shown = await notifier.send(
                    _short(title), _short(message), buttons=buttons, on_dismissed=lambda: on_choice(""), timeout=0
                )
                if shown not in await notifier.get_current_notifications():
                    raise LookupError("the notification service did not take the notification")
                server_id.extend(_freedesktop_ids(notifier, shown))
        except Exception as exc:  # noqa: BLE001  (any failure of the desktop's service means: ask some other way)
            await self._forget()
            if not self._failing:
                log.info("desktop notifications cannot ask here (%s: %s)", type(exc).__name__, exc)
            self._failing = True
            return None
        self._failing = False
        return shown

    async def withdraw(self, notification: str) -> None:
        if self._notifier is None:
            return
        try:
            async with asyncio.timeout(ASK_TIMEOUT):
                await self._notifier.clear(notification)
        except Exception as exc:  # noqa: BLE001  (already gone, or the service went away: nothing left to take off)
            log.debug("could not withdraw a notification (%s)", type(exc).__name__)

    async def close(self) -> None:
        await self._forget()

    async def _forget(self) -> None:
        """Drop the connection so the next `ask` starts afresh (the service may appear later)."""
        notifier, self._notifier = self._notifier, None
        # desktop-notifier keeps its D-Bus connection in the Linux backend and never closes it itself.
        bus = getattr(getattr(notifier, "_backend", None), "bus", None)
        if bus is not None:
            bus.disconnect()


def _freedesktop_ids(notifier: DesktopNotifier, shown: str) -> list[int]:
    """The freedesktop service's id of a notification desktop-notifier showed (Linux), else none.

    An answered notification should leave the screen. Most freedesktop services close it when an action is
    invoked, but not all (dunst's context menu leaves it), and desktop-notifier forgets the id before it calls the
    button's handler, so the id is read here, from its Linux backend (desktop-notifier 6.x; none elsewhere).
    """
    ids = getattr(getattr(notifier, "_backend", None), "_platform_to_interface_notification_identifier", None)
    server_id = ids.inverse.get(shown) if ids is not None else None
    return [server_id] if isinstance(server_id, int) else []


async def _close_on_server(notifier: DesktopNotifier, server_id: int) -> None:
    """Close an answered notification on the freedesktop service (CloseNotification), if it is still shown."""
    interface = getattr(getattr(notifier, "_backend", None), "interface", None)
    if interface is None:
        return
    try:
        async with asyncio.timeout(ASK_TIMEOUT):
            await interface.call_close_notification(server_id)  # a D-Bus proxy method, made at run time
    except Exception as exc:  # noqa: BLE001  (already closed by the service, or it went away)
        log.debug("could not close an answered notification (%s)", type(exc).__name__)


def asker(app_name: str) -> Asker:
    """The notification that asks, for this system."""
    return DesktopAsker(app_name)
