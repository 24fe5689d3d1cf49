"""Locks, private files and atomic writes on every platform: the one `exclusive_lock` and the one `atomic_write`.

POSIX: `flock` locks; files 0600 and directories 0700, tightened when we own them.
Windows: `msvcrt.locking` byte-range locks. Permission bits mean nothing there (only the read-only flag),
so nothing is changed: every file partnercrmd keeps lives under the user's profile
(`%LOCALAPPDATA%\\partnercrmd` from platformdirs), whose ACL grants the user, SYSTEM and the
Administrators group only, and files created there inherit that ACL. This is chosen over setting ACLs
ourselves, which would need pywin32 (a large native dependency) for no gain on a default install; a
PARTNERCRMD_HOME outside the profile keeps the ACL of wherever it points (docs/platforms.md says so).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

WINDOWS_REPLACE_TRIES = 20
WINDOWS_REPLACE_PAUSE = 0.05
"""Seconds between two tries of a rename that Windows refused because a reader has the target open."""
WINDOWS_LOCK_RANGE = (1 << 20, 1)
"""Windows locks byte ranges mandatorily: lock one byte far past any content, so the file stays readable."""


_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
"""Not inherited by child processes (POSIX); bytes as written (Windows)."""
NOTE_LIMIT = 200
"""The most of a lock file's note that `LockHeld` carries."""


class LockHeld(Exception):
    """Another process holds the lock `exclusive_lock(..., wait=False)` asked for; `note` is what it wrote there."""

    def __init__(self, note: str) -> None:
        super().__init__(f"locked by another process ({note or 'no note'})")
        self.note = note


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, *, wait: bool = True) -> Iterator[int]:
    """Hold an exclusive inter-process lock on `lock_path` for the `with` block; every file lock of partnercrmd.

    The file is created readable by the user alone, in a private directory. Yields its descriptor: the
    holder may write a note in it (the daemon its pid), which stays readable to others because Windows
    locks a byte far past any content. `wait=True` blocks until the lock is free; `wait=False` raises
    `LockHeld` (with the holder's note) at once instead. Not re-entrant. Blocking: not on the event loop.
    """
    ensure_private_dir(lock_path.parent)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o600)
    try:
        if wait:
            _lock(fd)
        elif not _try_lock(fd):
            os.lseek(fd, 0, os.SEEK_SET)
            raise LockHeld(os.read(fd, NOTE_LIMIT).decode("utf-8", "replace").strip())
        try:
            yield fd
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def write_lock_note(fd: int, note: str) -> None:
    """Replace the note in a lock file `exclusive_lock` yielded (what `LockHeld` tells the next process)."""
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, note.encode("utf-8"))


def atomic_write(path: Path, data: bytes, *, private: bool = True) -> None:
    """Replace `path` with `data` so that a crash leaves the old file or the new one, never a torn one.

    The one atomic write of partnercrmd (vault and key file, discovery file, start-at-login and URL handler
    files, add-ins' files through the SDK): a temp file beside `path` (same file system, so the rename is
    atomic), written and fsynced, renamed over `path` (`replace`: waits out a Windows reader), and the
    directory fsynced. `private=True`: readable by the user alone (0600 on POSIX, whatever it was before;
    on Windows the profile's ACL); `private=False`: a new file gets the usual mode (0666 less the umask),
    an existing one keeps its mode. Temp files are `.NAME.<random>.tmp`: `remove_stale_temps` clears what a
    crash left. The directory must exist. Blocking: not on the event loop.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not private:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(temp, stat.S_IMODE(path.stat().st_mode))
        replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> None:
    """Delete the temp files a crash in the middle of `atomic_write(path, ...)` left (call under a lock)."""
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            temp.unlink()


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on an open file without waiting; False if another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        offset, length = WINDOWS_LOCK_RANGE
        os.lseek(fd, offset, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, length)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock(fd: int) -> None:
    """Take an exclusive lock on an open file, waiting as long as another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        offset, length = WINDOWS_LOCK_RANGE
        while True:
            os.lseek(fd, offset, os.SEEK_SET)
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, length)
                return
            except OSError:  # LK_LOCK gives up after ten seconds; keep waiting like flock does
                continue
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock(fd: int) -> None:
    """Release the lock `_lock` or `_try_lock` took (closing the file releases it as well)."""
    if sys.platform == "win32":
        import msvcrt

        offset, length = WINDOWS_LOCK_RANGE
        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, length)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def tighten(fd: int, mode: int) -> None:
    """Take away permissions beyond `mode` from an open file or directory we own (POSIX; see the module)."""
    if sys.platform == "win32":
        return
    st = os.fstat(fd)
    if st.st_mode & 0o777 & ~mode and st.st_uid == os.getuid():
        os.fchmod(fd, mode)


def ensure_private_dir(directory: Path) -> None:
    """Create `directory` (and its parents) private to the user, and take group/other permissions away from it."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        tighten(fd, 0o700)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    if sys.platform == "win32":
        return  # directories cannot be opened for fsync there; NTFS journals the rename
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (e.g. certain network mounts) refuse fsync on a directory
    finally:
        os.close(fd)


def replace(source: Path | str, target: Path | str) -> None:
    """os.replace, which on Windows waits out a reader that has `target` open (about a second at most).

    Windows refuses to replace a file another process holds open without FILE_SHARE_DELETE, which is
    how Python opens files: a CLI command reading the vault, or a client reading api.json, would make
    the daemon's write fail. Readers hold such files for milliseconds, so the rename is tried again.
    """
    if sys.platform != "win32":
        os.replace(source, target)
        return
    for _ in range(WINDOWS_REPLACE_TRIES - 1):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            time.sleep(WINDOWS_REPLACE_PAUSE)
    os.replace(source, target)
