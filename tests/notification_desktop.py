"""A private D-Bus session bus and Debian's dunst on it, for tests of desktop notifications under Xvfb.

dunst's context menu (`dunstctl context`) lists the actions of the notifications on screen through its `dmenu`
command, here a script that records the menu and picks the line of the wanted action, so dunst itself invokes it
(ActionInvoked on the bus), as a click would. Used by the approval prompts' and the dial offers' tests.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

from tests.daemon_process import describe, wait_until
from tests.desktop_session import Desktop, stop

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>
  </policy>
</busconfig>
"""
"""A session bus with no service directories: nothing is started on demand (dunst runs only where a test starts it)."""


MENU_LINE = re.compile(r"#(.*?) \((.*)\) \[(\d+),([\w-]+)\]")
"""A line of dunst's context menu: action label (empty: the default action), summary, notification id, action key."""


# --- a D-Bus session bus and dunst ------------------------------------------------------------------------


class SessionBus:
    """A private `dbus-daemon` session bus; `env` is what a process needs to use it (and the X display)."""

    def __init__(self, folder: Path, desktop: Desktop) -> None:
        self.folder = folder
        self.socket = folder / "bus"
        self.address = f"unix:path={self.socket}"
        self.desktop = desktop
        config = folder / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=self.socket), encoding="utf-8")
        self.process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.socket.exists, timeout=10, what="the D-Bus session bus")

    @property
    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address, "DISPLAY": self.desktop.display}

    def close(self) -> None:
        stop(self.process)


class Dunst:
    """Debian's dunst on a session bus; its context menu picks the line naming the chosen action."""

    def __init__(self, bus: SessionBus) -> None:
        self.bus = bus
        folder = bus.folder
        self.menu = folder / "menu.txt"
        self.choice = folder / "choice.txt"
        picker = folder / "pick-action"
        picker.write_text(
            f'#!/bin/sh\ncat > "{self.menu}.part"\ngrep -m1 "^#$(cat "{self.choice}") " "{self.menu}.part"\n'
            f'mv "{self.menu}.part" "{self.menu}"\n'
        )
        picker.chmod(picker.stat().st_mode | stat.S_IXUSR)
        config = folder / "dunstrc"
        config.write_text(f"[global]\ndmenu = {picker}\n", encoding="utf-8")
        self.process = subprocess.Popen(
            ["dunst", "-config", str(config)],
            env={**os.environ, **bus.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self.ctl("count", "displayed", check=False) == "0", timeout=10, what="dunst on the bus")

    def ctl(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["dunstctl", *args], env={**os.environ, **self.bus.env}, capture_output=True, text=True, timeout=10
        )
        if check:
            assert result.returncode == 0, describe(result)
        return result.stdout.strip()

    def displayed(self) -> int:
        return int(self.ctl("count", "displayed"))

    def choose(self, label: str) -> list[str]:
        """Invoke the action `label` of the notification on screen through dunst's menu; the menu's lines."""
        self.choice.write_text(label, encoding="utf-8")
        self.menu.unlink(missing_ok=True)
        self.ctl("context")  # dunst runs the picker on its own time
        wait_until(self.menu.exists, timeout=10, what="dunst's context menu")
        return self.menu.read_text(encoding="utf-8").splitlines()

    def close(self) -> None:
        stop(self.process)
