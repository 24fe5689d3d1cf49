"""One atomic write and one file lock (issue #15 item 9): `partnercrmd.platform.files` is the only code that renames
a temp file over another, fsyncs, or locks a file; the vault, the discovery file, the start-at-login and URL handler
files, the daemon's instance lock and add-ins' files (the templates add-in's OAuth tokens, via the SDK) all use it."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from partnercrmd.platform import files
from partnercrmd.sdk import atomic_write

ROOT = Path(__file__).resolve().parent.parent
THE_ONE_PLACE = ROOT / "partnercrmd" / "platform" / "files.py"
FILE_PRIMITIVES = re.compile(
    r"\bos\.(replace|rename|fsync)\(|\bfcntl\.(flock|lockf)\(|\bmsvcrt\.locking\(|\btempfile\.mkstemp\("
)
"""Renaming over a file, fsync, file locks, private temp files: what an atomic write or a lock is made of."""


def shipped_sources() -> list[Path]:
    """The core's modules and every add-in's package (not their tests)."""
    core = list((ROOT / "partnercrmd").rglob("*.py"))
    addins = [p for p in (ROOT / "plugins").glob("*/partnercrmd_*/**/*.py") if "tests" not in p.parts]
    return sorted(core + addins)


def test_only_platform_files_renames_over_fsyncs_or_locks_a_file() -> None:
    sources = shipped_sources()
    assert len(sources) > 100 and THE_ONE_PLACE in sources
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if path != THE_ONE_PLACE
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FILE_PRIMITIVES.search(line)
    ]
    assert found == [], "use partnercrmd.platform.files (atomic_write, exclusive_lock):\n" + "\n".join(found)


def test_atomic_write_is_private_by_default_and_keeps_a_shared_files_mode(tmp_path: Path) -> None:
    secret, shared = tmp_path / "tokens.json", tmp_path / "mimeapps.list"
    atomic_write(secret, b"{}")
    shared.write_text("old", encoding="utf-8")
    shared.chmod(0o640)
    files.atomic_write(shared, b"new", private=False)
    assert (secret.read_bytes(), shared.read_bytes()) == (b"{}", b"new")
    if sys.platform != "win32":  # POSIX modes; on Windows the profile's ACL decides (partnercrmd.platform.files)
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert stat.S_IMODE(shared.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mimeapps.list", "tokens.json"]  # no temp left


def test_a_failed_atomic_write_leaves_the_old_content_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "vault.bin"
    target.mkdir()  # the rename over it fails, as any failure after the temp file is written would
    (target / "kept").write_text("old", encoding="utf-8")
    with pytest.raises(OSError):
        files.atomic_write(target, b"new")
    assert (target / "kept").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault.bin"]


def test_stale_temps_of_a_crash_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / ".vault.bin.1a2b.tmp").write_bytes(b"torn")
    (tmp_path / ".other.bin.1a2b.tmp").write_bytes(b"not ours")
    files.remove_stale_temps(tmp_path / "vault.bin")
    assert [p.name for p in tmp_path.iterdir()] == [".other.bin.1a2b.tmp"]


def try_lock_in_another_process(lock_path: Path) -> str:
    """What another process gets from `exclusive_lock(lock_path, wait=False)`: "got it" or "held: NOTE"."""
    script = (
        "import sys; from pathlib import Path; from partnercrmd.platform import files\n"
        "try:\n"
        "    with files.exclusive_lock(Path(sys.argv[1]), wait=False): print('got it')\n"
        "except files.LockHeld as held: print('held: ' + held.note)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(lock_path)], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_the_lock_excludes_another_process_tells_it_the_note_and_is_free_after(tmp_path: Path) -> None:
    lock_path = tmp_path / "private" / "daemon.lock"
    with files.exclusive_lock(lock_path, wait=False) as lock_file:
        files.write_lock_note(lock_file, "4242")
        assert try_lock_in_another_process(lock_path) == "held: 4242"
        assert lock_path.read_text(encoding="utf-8") == "4242"  # the note stays readable to others
    assert try_lock_in_another_process(lock_path) == "got it"
    if sys.platform != "win32":
        assert stat.S_IMODE(lock_path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(lock_path.stat().st_mode) == 0o600
