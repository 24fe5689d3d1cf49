"""Locks, private files and durable renames on every platform.

POSIX: `flock` locks; files 0600 and directories 0700, tightened when we own them.
Windows: `msvcrt.locking` byte-range locks. Permission bits mean nothing there (only the read-only flag),
so nothing is changed: every file partnercrmd keeps lives under the user's profile
(`%LOCALAPPDATA%\\partnercrmd` from platformdirs), whose ACL grants the user, SYSTEM and the
Administrators group only, and files created there inherit that ACL. This is chosen over setting ACLs
ourselves, which would need pywin32 (a large native dependency) for no gain on a default install; a
PARTNERCRMD_HOME outside the profile keeps the ACL of wherever it points (docs/platforms.md says so).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

WINDOWS_REPLACE_TRIES = 20
WINDOWS_REPLACE_PAUSE = 0.05
"""Seconds between two tries of a rename that Windows refused because a reader has the target open."""
WINDOWS_LOCK_RANGE = (1 << 20, 1)
"""Windows locks byte ranges mandatorily: lock one byte far past any content, so the file stays readable."""


def try_lock(fd: int) -> bool:
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


def lock(fd: int) -> None:
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


def unlock(fd: int) -> None:
    """Release the lock `lock` or `try_lock` took (closing the file releases it as well)."""
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
