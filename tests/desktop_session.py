"""A real X11 desktop for tests: Xvfb on a free display (a window manager when a test needs one), with helpers for
the clipboard, keys and windows."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from partnercrmd.config import DaemonConfig

SCREEN = "1280x800x24"
START_TIMEOUT = 10.0


class Desktop:
    """A running Xvfb display; `env` is what a process needs to use it."""

    def __init__(self, display: str, process: subprocess.Popen[bytes]) -> None:
        self.display = display
        self.process = process

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def run(self, *args: str, input_text: str | None = None, timeout: float = 10) -> str:
        """Run an X client (xclip, xdotool…) on this display; its output."""
        result = subprocess.run(
            list(args), env=self.env, input=input_text, capture_output=True, text=True, timeout=timeout, check=True
        )
        return result.stdout

    def set_clipboard(self, text: str, selection: str = "clipboard") -> None:
        """Own the CLIPBOARD (or PRIMARY) selection with `text`, as another program copying would."""
        subprocess.Popen(
            ["xclip", "-selection", selection, "-i"],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).communicate(text.encode(), timeout=10)


def _free_display() -> str:
    for number in range(90, 190):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return f":{number}"
    raise RuntimeError("no free X display number between :90 and :189")


@contextmanager
def desktop_session() -> Iterator[Desktop]:
    """Start Xvfb, wait until it accepts clients, stop it by PID afterwards."""
    for tool in ("Xvfb", "xclip", "xdotool"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed: run the README's test command (it installs it)")
    display = _free_display()
    process = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", SCREEN, "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    desktop = Desktop(display, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while subprocess.run(["xdotool", "getmouselocation"], env=desktop.env, capture_output=True).returncode:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb did not start on {display}")
            time.sleep(0.05)
        yield desktop
    finally:
        stop(process)


@contextmanager
def window_manager(desktop: Desktop) -> Iterator[subprocess.Popen[bytes]]:
    """Run openbox (Debian `openbox`) on the display until the block ends: windows then get focus and
    `_NET_ACTIVE_WINDOW` as on a real desktop. Returns once it manages the screen."""
    if shutil.which("openbox") is None:
        raise RuntimeError("openbox is not installed: run the README's test command (it installs it)")
    process = subprocess.Popen(["openbox"], env=desktop.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "window id" not in desktop.run("xprop", "-root", "_NET_SUPPORTING_WM_CHECK"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"openbox did not start on {desktop.display}")
            time.sleep(0.05)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a helper process of the desktop (Xvfb, a notification daemon): SIGTERM, then kill after 5 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_daemon_on(desktop: Desktop, config: DaemonConfig, monkeypatch: pytest.MonkeyPatch) -> DaemonConfig:
    """Make the daemon under test use this X display (and not a Wayland session it may inherit)."""
    monkeypatch.setenv("DISPLAY", desktop.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    return config


@pytest.fixture(scope="module")
def desktop() -> Iterator[Desktop]:
    """A real Xvfb display, shared by the tests of a module."""
    with desktop_session() as session:
        yield session
