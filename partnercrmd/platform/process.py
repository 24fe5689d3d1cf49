"""The daemon's process on every platform: stopping on signals, its event loop, other processes, limits."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `partnercrmd dial` reads process liveness and must start at once
    import asyncio

STOP_SIGNAL_NAMES = ("SIGTERM", "SIGINT", "SIGBREAK")
"""What stops the daemon, where the system has it: `kill`, Ctrl+C, and Ctrl+Break in a Windows console."""

WINDOWS_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
WINDOWS_STILL_ACTIVE = 259
WINDOWS_ERROR_ACCESS_DENIED = 5


def stop_signals() -> list[signal.Signals]:
    """The signals of STOP_SIGNAL_NAMES this system knows."""
    return [getattr(signal, name) for name in STOP_SIGNAL_NAMES if hasattr(signal, name)]


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> Callable[[], None]:
    """Call `stop` on the event loop when a stop signal arrives; returns what undoes it.

    The loop's `add_signal_handler` where it has one (Unix loops); otherwise (Windows' Proactor and
    Selector loops raise NotImplementedError) a `signal.signal` handler in the main thread that hands
    `stop` to the loop with `call_soon_threadsafe` (the Windows loops wake up for signals).
    """
    watched: list[signal.Signals] = []
    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(stop)

    for signum in stop_signals():
        try:
            loop.add_signal_handler(signum, stop)
            watched.append(signum)
            continue
        except NotImplementedError:
            pass
        except (RuntimeError, ValueError):  # not the main thread, or a signal this loop cannot watch
            continue
        try:
            previous[signum] = signal.signal(signum, handler)
        except (OSError, ValueError):  # not the main thread, or a signal the C runtime refuses
            continue

    def undo() -> None:
        for signum in watched:
            loop.remove_signal_handler(signum)
        for signum, earlier in previous.items():
            signal.signal(signum, earlier if earlier is not None else signal.SIG_DFL)

    return undo


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The daemon's event loop: the Proactor loop on Windows (subprocesses and pipes work there), else the default."""
    import asyncio

    if sys.platform == "win32":
        return asyncio.ProactorEventLoop()
    return asyncio.new_event_loop()


def server_reuse_address() -> bool:
    """Whether the daemon's listening socket sets SO_REUSEADDR.

    On Unix it lets a restarted daemon bind while old connections linger in TIME_WAIT. On Windows
    SO_REUSEADDR lets a second socket bind a port that is in use, so a second daemon (or another
    program) would share the port silently instead of getting the clear "port taken" error.
    """
    return sys.platform != "win32"


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (for any user), without disturbing it."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        # Never os.kill(pid, 0) here: on Windows signal 0 is CTRL_C_EVENT, sent to the whole console group.
        import ctypes

        # The default int results hold kernel handles: only their low 32 bits are significant, even on 64-bit Windows.
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(WINDOWS_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return bool(ctypes.get_last_error() == WINDOWS_ERROR_ACCESS_DENIED)  # another user's process
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return bool(code.value == WINDOWS_STILL_ACTIVE)
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def open_file_limit() -> int | None:
    """The process's soft limit of open files (sockets count), or None where there is no such limit (Windows)."""
    if sys.platform == "win32":
        return None
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def user_id() -> int:
    """The numeric id of the user running this process (macOS and Linux; launchctl's `gui/UID` domain)."""
    if sys.platform == "win32":
        raise OSError("Windows has no numeric user ids")
    return os.getuid()
