"""The user's web browser as the daemon sees it in tests: a script named by BROWSER that writes down each URL.

The daemon opens pages (ShowWindow's one-time login link, a record's DoAction Open) by running the program
named by BROWSER with the URL. Browser tests give it `RecordingBrowser.script`, which appends the URL to
`opened`; the test then follows the link in Playwright's Chromium. One place, so every browser test logs in
the same way the user's browser does.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from tests.daemon_process import Daemon, wait_until


@dataclass
class RecordingBrowser:
    """A stand-in browser: `script` (for BROWSER) appends every URL it is asked to open to `opened`, then exits
    with `exit_code` (0 unless a test sets it: a browser that cannot be opened)."""

    script: Path
    opened: Path

    @classmethod
    def in_folder(cls, folder: Path) -> RecordingBrowser:
        """The one `create` made in `folder` (record-url, writing to opened-urls.txt there)."""
        return cls(folder / "record-url", folder / "opened-urls.txt")

    @classmethod
    def create(cls, folder: Path) -> RecordingBrowser:
        """Write the script into `folder`; see `in_folder`."""
        browser = cls.in_folder(folder)
        code_file = cls._code_file_of(browser.script)
        browser.script.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{browser.opened}"\nexit "$(cat "{code_file}")"\n', encoding="utf-8"
        )
        browser.script.chmod(browser.script.stat().st_mode | stat.S_IXUSR)
        browser.exit_code = 0
        return browser

    @staticmethod
    def _code_file_of(script: Path) -> Path:
        return script.with_name("record-url-exit-code.txt")

    @property
    def exit_code(self) -> int:
        """What the script exits with from now on."""
        return int(self._code_file_of(self.script).read_text(encoding="utf-8"))

    @exit_code.setter
    def exit_code(self, code: int) -> None:
        self._code_file_of(self.script).write_text(str(code), encoding="utf-8")

    @property
    def env(self) -> dict[str, str]:
        """The environment that makes a daemon open pages with this browser."""
        return {"BROWSER": str(self.script)}

    def urls(self) -> list[str]:
        """Every URL opened so far, oldest first."""
        return self.opened.read_text(encoding="utf-8").splitlines() if self.opened.exists() else []

    def login_link(self, daemon: Daemon, app_id: str, window: str) -> str:
        """ShowWindow as the phone client calls it; the one-time login link the daemon then handed this browser."""
        before = len(self.urls())
        daemon.call("POST", "ShowWindow", app_id, window=window)
        return wait_until(lambda: self.urls()[before:], timeout=10, what="the login link reaching the browser")[-1]
