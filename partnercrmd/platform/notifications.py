"""A desktop notification (title and message), per platform, through each system's own command.

Linux: `notify-send` (libnotify). macOS: `osascript`, with the texts passed as arguments of an
AppleScript `on run argv` handler, so no text is ever parsed as AppleScript. Windows: a toast through
Windows PowerShell's WinRT bridge, as an -EncodedCommand whose texts are single-quoted PowerShell
literals (every kind of single quote doubled), so no text is ever parsed as PowerShell.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

from . import MACOS, WINDOWS, Runner, run_tool, system

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
