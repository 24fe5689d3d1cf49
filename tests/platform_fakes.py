"""Stand-ins for the Windows and macOS system calls, so their implementations run (and are checked) on Linux.

`FakeWinreg` and `FakeMsvcrt` are module objects installed as `winreg` and `msvcrt` in sys.modules;
`FakeKernel32` stands for `ctypes.WinDLL("kernel32")`; `RecordingRunner` stands for the commands
(launchctl, lsregister, osascript, security, certutil, powershell). `pretend_to_be` patches
sys.platform and installs them, and makes each Unix-only call raise so a test proves none is reached.
"""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import Any

import pytest

HKEY_CURRENT_USER = 0x80000001
HKEY_LOCAL_MACHINE = 0x80000002


class UnixOnlyCallReached(AssertionError):
    """A POSIX-only call ran while the test pretended to be Windows."""


class FakeKeyHandle:
    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> FakeKeyHandle:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        return None


class FakeWinreg(ModuleType):
    """The part of `winreg` partnercrmd uses, over a dict: key path (below HKEY_CURRENT_USER) → {name: (type, data)}.

    Any other hive is refused (partnercrmd writes under HKEY_CURRENT_USER only). Key paths compare
    case-insensitively, as in the real registry.
    """

    HKEY_CURRENT_USER = HKEY_CURRENT_USER
    HKEY_LOCAL_MACHINE = HKEY_LOCAL_MACHINE
    KEY_READ = 131097
    KEY_SET_VALUE = 2
    KEY_WRITE = 131078
    REG_SZ = 1

    def __init__(self) -> None:
        super().__init__("winreg")
        self.keys: dict[str, dict[str, tuple[int, str]]] = {}
        self.names: dict[str, str] = {}
        """lower-case path → the path as first written."""

    def _hive(self, hive: int) -> None:
        if hive != HKEY_CURRENT_USER:
            raise UnixOnlyCallReached(f"a hive other than HKEY_CURRENT_USER was opened: {hive:#x}")

    def _missing(self, what: str) -> FileNotFoundError:
        return FileNotFoundError(errno.ENOENT, f"The system cannot find the file specified: {what}")

    def CreateKeyEx(self, key: int, sub_key: str, reserved: int = 0, access: int = KEY_WRITE) -> FakeKeyHandle:
        self._hive(key)
        parts = sub_key.split("\\")
        for end in range(1, len(parts) + 1):
            path = "\\".join(parts[:end])
            self.names.setdefault(path.lower(), path)
            self.keys.setdefault(self.names[path.lower()], {})
        return FakeKeyHandle(self.names[sub_key.lower()])

    def OpenKey(self, key: int, sub_key: str, reserved: int = 0, access: int = KEY_READ) -> FakeKeyHandle:
        self._hive(key)
        if sub_key.lower() not in self.names:
            raise self._missing(sub_key)
        return FakeKeyHandle(self.names[sub_key.lower()])

    def QueryValueEx(self, handle: FakeKeyHandle, name: str) -> tuple[str, int]:
        values = self.keys[handle.path]
        if name not in values:
            raise self._missing(name)
        kind, data = values[name]
        return data, kind

    def SetValueEx(self, handle: FakeKeyHandle, name: str, reserved: int, kind: int, value: str) -> None:
        assert isinstance(value, str) and kind == self.REG_SZ
        self.keys[handle.path][name] = (kind, value)

    def DeleteValue(self, handle: FakeKeyHandle, name: str) -> None:
        if self.keys[handle.path].pop(name, None) is None:
            raise self._missing(name)

    def _children(self, path: str) -> list[str]:
        prefix = path.lower() + "\\"
        return sorted({self.names[k][len(prefix) :].split("\\")[0] for k in self.names if k.startswith(prefix)})

    def EnumKey(self, handle: FakeKeyHandle, index: int) -> str:
        children = self._children(handle.path)
        if index >= len(children):
            raise OSError(259, "No more data is available")
        return children[index]

    def DeleteKey(self, key: int, sub_key: str) -> None:
        self._hive(key)
        if sub_key.lower() not in self.names:
            raise self._missing(sub_key)
        if self._children(sub_key):
            raise PermissionError(errno.EACCES, "Access is denied (the key has subkeys)")
        del self.keys[self.names.pop(sub_key.lower())]

    def values(self) -> dict[tuple[str, str], str]:
        """(key, name) → data of every value written."""
        return {(key, name): data for key, values in self.keys.items() for name, (_, data) in values.items()}


class FakeMsvcrt(ModuleType):
    """`msvcrt.locking` as Windows does it: exclusive byte ranges, per file, refused to other descriptors."""

    LK_UNLCK = 0
    LK_LOCK = 1
    LK_NBLCK = 2

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.calls: list[tuple[int, int, int]] = []
        """(mode, offset, length) of each call."""
        self.held: dict[tuple[int, int], int] = {}
        """(inode, offset) → the descriptor holding it."""

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        offset = os.lseek(fd, 0, os.SEEK_CUR)
        self.calls.append((mode, offset, nbytes))
        where = (os.fstat(fd).st_ino, offset)
        if mode == self.LK_UNLCK:
            if self.held.get(where) != fd:
                raise PermissionError(errno.EACCES, "Permission denied (not locked)")
            del self.held[where]
            return
        holder = self.held.get(where)
        if holder is not None and holder != fd:
            raise PermissionError(errno.EACCES, "Resource deadlock avoided")
        self.held[where] = fd


@dataclass
class FakeProcess:
    exit_code: int = 259  # STILL_ACTIVE


class FakeKernel32:
    """`ctypes.WinDLL("kernel32")` for process_alive: OpenProcess, GetExitCodeProcess, CloseHandle."""

    def __init__(self, processes: dict[int, FakeProcess], denied: set[int] | None = None) -> None:
        self.processes = processes
        self.denied = denied or set()
        self.last_error = 0
        self.opened: list[tuple[int, bool, int]] = []
        self.closed: list[int] = []

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        self.opened.append((access, inherit, pid))
        if pid in self.denied:
            self.last_error = 5
            return 0
        if pid not in self.processes:
            self.last_error = 87  # ERROR_INVALID_PARAMETER: no such process
            return 0
        return 1000 + pid

    def GetExitCodeProcess(self, handle: int, code: Any) -> int:
        code._obj.value = self.processes[handle - 1000].exit_code
        return 1

    def CloseHandle(self, handle: int) -> int:
        self.closed.append(handle)
        return 1


@dataclass
class RecordingRunner:
    """Runs nothing: records each command and answers with `answers[argv[0]]` (exit 0, no output by default)."""

    answers: dict[str, Callable[[list[str]], subprocess.CompletedProcess[str]]] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(args)
        self.calls.append(argv)
        answer = self.answers.get(os.path.basename(argv[0]))
        return answer(argv) if answer else subprocess.CompletedProcess(argv, 0, "", "")


def reply(stdout: str = "", returncode: int = 0) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    return lambda argv: subprocess.CompletedProcess(argv, returncode, stdout, "")


@dataclass
class PretendPlatform:
    platform: str
    winreg: FakeWinreg
    msvcrt: FakeMsvcrt
    unix_calls: list[str]


def _refuse(name: str, calls: list[str]) -> Callable[..., Any]:
    def refused(*args: object, **kwargs: object) -> Any:
        calls.append(name)
        raise UnixOnlyCallReached(f"{name} was called while pretending to be Windows")

    return refused


def pretend_to_be(
    monkeypatch: pytest.MonkeyPatch, platform: str, kernel32: FakeKernel32 | None = None
) -> PretendPlatform:
    """Patch sys.platform to `platform` ("win32" or "darwin") and substitute its system calls.

    For "win32": `winreg` and `msvcrt` are fakes, `ctypes.WinDLL("kernel32")` is `kernel32`, and the
    Unix-only calls (fcntl.flock/lockf, os.getuid/geteuid/fchmod/chmod/kill, loop.add_signal_handler)
    raise UnixOnlyCallReached and are recorded.
    """
    import asyncio
    import fcntl

    monkeypatch.setattr(sys, "platform", platform)
    fakes = PretendPlatform(platform, FakeWinreg(), FakeMsvcrt(), [])
    if platform != "win32":
        return fakes
    monkeypatch.setenv("USERNAME", "tester")  # Windows always has it; getpass.getuser() reads it before os.getuid
    monkeypatch.setitem(sys.modules, "winreg", fakes.winreg)
    monkeypatch.setitem(sys.modules, "msvcrt", fakes.msvcrt)
    kernel = kernel32 or FakeKernel32({os.getpid(): FakeProcess()})
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, use_last_error=False: kernel, raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: kernel.last_error, raising=False)
    for module, name in (
        (fcntl, "flock"),
        (fcntl, "lockf"),
        (os, "getuid"),
        (os, "geteuid"),
        (os, "fchmod"),
        (os, "chmod"),
        (os, "kill"),
    ):
        monkeypatch.setattr(module, name, _refuse(f"{module.__name__}.{name}", fakes.unix_calls))

    def no_signal_handlers(
        self: asyncio.AbstractEventLoop, sig: int, callback: Callable[..., object], *args: object
    ) -> None:
        raise NotImplementedError  # what Windows event loops do

    monkeypatch.setattr(asyncio.unix_events._UnixSelectorEventLoop, "add_signal_handler", no_signal_handlers)
    return fakes
