"""Clipboard dialling: a copy made by another program on a real X display becomes a DialOffer over the WebSocket.

Xvfb and xclip are real (tests/desktop_session.py); the daemon is the real app with its clipboard
monitor, switched on and off through the real settings path (`partnercrmd settings set`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from partnercrmd.config import DaemonConfig
from partnercrmd.dialling.clipboard import (
    MAX_CLIPBOARD_BYTES,
    POLL_INTERVAL,
    ClipboardState,
    ClipboardStatus,
    find_clipboard_helper,
)
from partnercrmd.dialling.lifecycle import clipboard_status
from partnercrmd.testing import AiohttpClient, ApiSession, next_event
from tests.desktop_session import Desktop, run_daemon_on

WAIT = 5.0


@pytest.fixture
def partnercrmd_config(
    partnercrmd_config: DaemonConfig, desktop: Desktop, monkeypatch: pytest.MonkeyPatch
) -> DaemonConfig:
    """The daemon runs in the Xvfb session with clipboard dialling on."""
    run_daemon_on(desktop, partnercrmd_config, monkeypatch).clipboard_dialling = True
    return partnercrmd_config


async def copy(desktop: Desktop, text: str) -> None:
    """Another program (xclip) takes the CLIPBOARD selection with `text`."""
    await asyncio.to_thread(desktop.set_clipboard, text)


async def status_until(app: web.Application, condition: Callable[[ClipboardStatus], bool]) -> ClipboardStatus:
    deadline = time.monotonic() + WAIT
    while not condition(status := clipboard_status(app)):
        assert time.monotonic() < deadline, f"clipboard status stayed {status}"
        await asyncio.sleep(0.02)
    return status


async def copy_and_wait_until_seen(app: web.Application, desktop: Desktop, text: str) -> None:
    """Copy, then wait until the monitor has looked at the change (so a later copy cannot hide it)."""
    seen = clipboard_status(app).changes
    await copy(desktop, text)
    await status_until(app, lambda status: status.changes > seen)


async def set_setting(value: str) -> None:
    """`partnercrmd settings set clipboard_dialling=VALUE`, as the user would (the daemon picks it up)."""
    result = await asyncio.to_thread(
        subprocess.run,
        ["partnercrmd", "settings", "set", f"clipboard_dialling={value}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def offered(event: dict[str, Any]) -> list[str]:
    return [number["E164"] for number in event["Numbers"]]


async def test_a_number_copied_by_another_program_is_offered(
    api: ApiSession, desktop: Desktop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await status_until(api.client.app, lambda status: status.state is ClipboardState.WATCHING)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await copy(desktop, "Call me on 020 7946 0958")
        event = await next_event(ws, "DialOffer")
    assert event == {
        "EventType": "DialOffer",
        "Source": "Clipboard",
        "Numbers": [{"Destination": "+442079460958", "E164": "+442079460958", "DisplayNumber": "020 7946 0958"}],
    }
    assert "Call me" not in caplog.text  # the copied text is never logged


async def test_text_without_numbers_and_oversized_content_are_not_offered(api: ApiSession, desktop: Desktop) -> None:
    app = api.client.app
    await status_until(app, lambda status: status.state is ClipboardState.WATCHING)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await copy_and_wait_until_seen(app, desktop, "Lunch at noon in the usual place?")
        oversized = "Call 0161 496 0789. " + "x" * MAX_CLIPBOARD_BYTES
        await copy_and_wait_until_seen(app, desktop, oversized)
        await copy(desktop, "Support: +1 212 736 5000")
        event = await next_event(ws, "DialOffer")  # events arrive in order: nothing came before this one
    assert offered(event) == ["+12127365000"]


async def test_switched_at_runtime_only_later_copies_are_offered(api: ApiSession, desktop: Desktop) -> None:
    app = api.client.app
    await status_until(app, lambda status: status.state is ClipboardState.WATCHING)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        await set_setting("off")
        await status_until(app, lambda status: status.state is ClipboardState.OFF)
        await copy(desktop, "While off: 0161 496 0789")
        await asyncio.sleep(3 * POLL_INTERVAL)  # time in which a monitor that ignored the setting would offer it
        await set_setting("on")
        await status_until(app, lambda status: status.state is ClipboardState.WATCHING)
        await copy(desktop, "Later: 020 7946 0111")
        event = await next_event(ws, "DialOffer")  # neither while off nor on switching on was the first offered
    assert offered(event) == ["+442079460111"]


async def test_a_missing_clipboard_tool_is_reported_once_and_found_when_switched_on_again(
    aiohttp_client: AiohttpClient,
    partnercrmd_app: web.Application,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="partnercrmd.dialling.clipboard")
    real_path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path))  # a session without xclip or xsel (the daemon needs no PATH)
    await aiohttp_client(partnercrmd_app)
    status = clipboard_status(partnercrmd_app)
    assert status.state is ClipboardState.UNAVAILABLE
    assert status.as_dict()["Available"] is False and "install" in status.message and "xclip" in status.message
    await asyncio.sleep(3 * POLL_INTERVAL)  # the monitor keeps running, without a flood of messages
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"clipboard dialling is unavailable: {status.message}"]

    # The user installs xclip, then switches clipboard dialling off and on again: no restart needed.
    monkeypatch.setenv("PATH", real_path)
    await set_setting("off")
    await asyncio.sleep(3 * POLL_INTERVAL)
    await set_setting("on")
    status = await status_until(partnercrmd_app, lambda status: status.state is ClipboardState.WATCHING)
    assert (status.helper, status.message) == ("xclip", "")


def test_the_helper_is_found_or_the_problem_named(tmp_path: Path) -> None:
    empty = str(tmp_path)
    assert "DISPLAY" in find_clipboard_helper({"PATH": empty}).problem
    assert "wl-clipboard" in find_clipboard_helper({"WAYLAND_DISPLAY": "wayland-0", "PATH": empty}).problem
    assert "xclip" in find_clipboard_helper({"DISPLAY": ":1", "PATH": empty}).problem
    assert find_clipboard_helper({"DISPLAY": ":1", "PATH": "/usr/bin:/bin"}).name == "xclip"
    assert find_clipboard_helper({}, platform="darwin").name == "pbpaste"


async def test_the_monitor_thread_ends_with_the_daemon(api: ApiSession) -> None:
    assert any(t.name == "clipboard-monitor" for t in threading.enumerate())
    await api.client.close()
    assert not any(t.name == "clipboard-monitor" for t in threading.enumerate())
