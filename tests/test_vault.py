"""The vault: encrypted at rest, atomic, safe across processes, honest about where its key lives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from cryptography.fernet import Fernet
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

import partnercrmd
from partnercrmd.errors import ConfigError
from partnercrmd.vault import SCHEMA_VERSION, KeyFileStore, KeyringStore, Vault

SECRET = "s3cr3t-api-token-0123456789"
REPO_ROOT = Path(partnercrmd.__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_real_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the developer's real keyring: tests use the key file unless they install a fake keyring."""
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")


KeyringFactory = Callable[..., dict[tuple[str, str], str]]


@pytest.fixture
def use_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyringFactory]:
    """Install an in-memory keyring backend (or a given one) and restore the previous backend afterwards."""
    # Detect the real backend first, so the test backends below never take part in keyring's detection.
    previous = keyring.get_keyring()
    monkeypatch.delenv("PARTNERCRMD_KEYRING")
    passwords: dict[tuple[str, str], str] = {}

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def get_password(self, service: str, username: str) -> str | None:
            return passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            passwords[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            passwords.pop((service, username), None)

    class BrokenKeyring(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("the keyring daemon went away")

    backends: dict[str, type[KeyringBackend]] = {
        "memory": MemoryKeyring,
        "broken": BrokenKeyring,
        "fail": fail.Keyring,
        "null": null.Keyring,
    }

    def install(kind: str = "memory") -> dict[tuple[str, str], str]:
        keyring.set_keyring(backends[kind]())
        return passwords

    try:
        yield install
    finally:
        keyring.set_keyring(previous)


def _store_secret(doc: dict[str, Any]) -> None:
    doc.setdefault("addressbooks", {})["crm"] = {"url": "https://crm.example", "api_key": SECRET}


def _stored_keys(home: Path) -> list[bytes]:
    keys = KeyFileStore(home / "vault.key").load()
    assert keys is not None
    return keys


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- basics --------------------------------------------------------------------------------------------


def test_round_trip_through_a_fresh_open(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "home")
    assert vault.read() == {"schema": SCHEMA_VERSION}

    def set_port(doc: dict[str, Any]) -> str:
        doc["settings"] = {"port": 10772}
        return "done"

    assert vault.update(set_port) == "done"
    vault.update(_store_secret)

    again = Vault.open(tmp_path / "home")
    assert again.read() == {
        "schema": SCHEMA_VERSION,
        "settings": {"port": 10772},
        "addressbooks": {"crm": {"url": "https://crm.example", "api_key": SECRET}},
    }


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    vault.update(lambda doc: doc.update(future={"x": [1, "ü"]}))
    vault.update(lambda doc: doc.update(settings={}))
    assert vault.read() == {"schema": SCHEMA_VERSION, "future": {"x": [1, "ü"]}, "settings": {}}


def test_vault_file_is_not_plaintext(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    vault.update(_store_secret)
    data = vault.path.read_bytes()
    assert SECRET.encode() not in data
    assert b"api_key" not in data
    assert Fernet(_stored_keys(tmp_path)[0]).decrypt(data)


def test_key_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # noqa: S103  (the test loosens it to see open() tighten it)
    vault = Vault.open(home)
    vault.update(_store_secret)
    assert _mode(home) == 0o700
    assert _mode(home / "vault.key") == 0o600
    assert _mode(home / "vault.bin") == 0o600
    assert vault.key_location == f"key file {home / 'vault.key'} (keyring disabled by PARTNERCRMD_KEYRING=0)"


def test_stamp_notices_writes_but_not_unchanged_updates(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    assert vault.stamp() is None
    vault.update(_store_secret)
    first = vault.stamp()
    assert first is not None and first[1] == vault.path.stat().st_size
    vault.update(lambda doc: None)
    assert vault.stamp() == first
    vault.update(lambda doc: doc.update(n=1))
    assert vault.stamp() != first


def test_repr_shows_no_keys(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    vault.update(_store_secret)
    key = (tmp_path / "vault.key").read_text().strip()
    assert key not in repr(vault) and SECRET not in repr(vault)


# --- update: locking, failures, atomicity ---------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from partnercrmd.vault import Vault

    home, go = Path(sys.argv[1]), Path(sys.argv[2])
    vault = Vault.open(home)
    while not go.exists():
        time.sleep(0.001)

    def increment(doc):
        doc["counter"] = doc.get("counter", 0) + 1

    for _ in range(50):
        vault.update(increment)
    """
)


def test_concurrent_updates_from_two_processes_lose_nothing(tmp_path: Path) -> None:
    home, go = tmp_path / "home", tmp_path / "go"
    Vault.open(home).update(lambda doc: doc.update(counter=0))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(home), str(go)], env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    time.sleep(0.3)  # let both start and wait at the barrier
    go.touch()
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
    assert Vault.open(home).read()["counter"] == 100


def test_fn_raising_writes_nothing(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)

    def boom(doc: dict[str, Any]) -> None:
        doc["half"] = "done"
        raise ValueError("changed my mind")

    with pytest.raises(ValueError):
        vault.update(boom)
    assert not vault.path.exists()

    vault.update(_store_secret)
    before = vault.path.read_bytes()
    with pytest.raises(ValueError):
        vault.update(boom)
    assert vault.path.read_bytes() == before
    assert "half" not in vault.read()


def test_crash_during_write_leaves_the_old_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault.open(tmp_path)
    vault.update(_store_secret)
    before = vault.path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        vault.update(lambda doc: doc.update(settings={"new": True}))
    monkeypatch.undo()

    assert vault.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert Vault.open(tmp_path).read()["addressbooks"]["crm"]["api_key"] == SECRET


def test_open_removes_temp_files_left_by_a_crash(tmp_path: Path) -> None:
    Vault.open(tmp_path).update(_store_secret)
    leftover = tmp_path / ".vault.bin.abc123.tmp"
    leftover.write_bytes(b"torn")
    Vault.open(tmp_path)
    assert not leftover.exists()


# --- key problems -----------------------------------------------------------------------------------------


def test_missing_key_file_with_existing_vault_is_an_error_and_keeps_the_vault(tmp_path: Path) -> None:
    Vault.open(tmp_path).update(_store_secret)
    before = (tmp_path / "vault.bin").read_bytes()
    (tmp_path / "vault.key").unlink()

    with pytest.raises(ConfigError, match="key is missing") as excinfo:
        Vault.open(tmp_path)
    assert excinfo.value.code == "vault_key_missing"
    assert (tmp_path / "vault.bin").read_bytes() == before
    assert not (tmp_path / "vault.key").exists()

    # A Vault built directly on the store refuses to make a key too.
    direct = Vault(tmp_path / "vault.bin", KeyFileStore(tmp_path / "vault.key"))
    with pytest.raises(ConfigError, match="key is missing"):
        direct.update(_store_secret)
    with pytest.raises(ConfigError, match="key is missing"):
        direct.read()
    assert (tmp_path / "vault.bin").read_bytes() == before
    assert not (tmp_path / "vault.key").exists()


def test_wrong_key_is_a_clear_error_without_secrets(tmp_path: Path) -> None:
    Vault.open(tmp_path).update(_store_secret)
    before = (tmp_path / "vault.bin").read_bytes()
    other = Fernet.generate_key()
    KeyFileStore(tmp_path / "vault.key").save([other])

    vault = Vault.open(tmp_path)
    with pytest.raises(ConfigError, match="cannot be decrypted") as excinfo:
        vault.read()
    assert excinfo.value.code == "vault_unreadable"
    assert other.decode() not in str(excinfo.value) and SECRET not in str(excinfo.value)
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        vault.update(lambda doc: doc.clear())
    assert (tmp_path / "vault.bin").read_bytes() == before


def test_corrupted_vault_is_a_clear_error(tmp_path: Path) -> None:
    Vault.open(tmp_path).update(_store_secret)
    (tmp_path / "vault.bin").write_bytes(b"gAAAAAnot-a-token")
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        Vault.open(tmp_path).read()


def test_malformed_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "vault.key").write_text("not a fernet key\n")
    with pytest.raises(ConfigError, match="malformed"):
        Vault.open(tmp_path)


# --- key rotation ---------------------------------------------------------------------------------------


def test_rotate_key_keeps_data_and_forgets_the_old_key(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    vault.update(_store_secret)
    old = _stored_keys(tmp_path)
    assert len(old) == 1
    before = vault.path.read_bytes()

    vault.rotate_key()

    new = _stored_keys(tmp_path)
    assert len(new) == 1
    assert old[0] not in new
    assert vault.path.read_bytes() != before
    assert vault.read()["addressbooks"]["crm"]["api_key"] == SECRET
    assert Vault.open(tmp_path).read()["addressbooks"]["crm"]["api_key"] == SECRET
    assert _mode(tmp_path / "vault.key") == 0o600


def test_rotation_by_another_process_is_picked_up(tmp_path: Path) -> None:
    daemon, cli = Vault.open(tmp_path), Vault.open(tmp_path)
    daemon.update(_store_secret)
    assert daemon.read()["addressbooks"]["crm"]["api_key"] == SECRET  # daemon now caches the old key
    cli.rotate_key()
    assert daemon.read()["addressbooks"]["crm"]["api_key"] == SECRET
    daemon.update(lambda doc: doc.update(n=1))
    assert cli.read()["n"] == 1
    assert Fernet(_stored_keys(tmp_path)[0]).decrypt(daemon.path.read_bytes())


class _CrashOnSecondSave(KeyFileStore):
    """A key file store whose process dies (an exception) at the second save."""

    saves = 0

    def save(self, keys: list[bytes]) -> None:
        self.saves += 1
        if self.saves == 2:
            raise KeyboardInterrupt("killed")
        super().save(keys)


def test_crash_between_the_two_key_saves_leaves_the_vault_readable(tmp_path: Path) -> None:
    Vault.open(tmp_path).update(_store_secret)
    vault = Vault(tmp_path / "vault.bin", _CrashOnSecondSave(tmp_path / "vault.key"))
    with pytest.raises(KeyboardInterrupt):
        vault.rotate_key()
    keys = _stored_keys(tmp_path)
    assert len(keys) == 2  # [new, old] stayed
    assert Vault.open(tmp_path).read()["addressbooks"]["crm"]["api_key"] == SECRET
    assert Fernet(keys[0]).decrypt(vault.path.read_bytes())  # the vault was already re-encrypted


def test_crash_before_the_vault_is_re_encrypted_leaves_it_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault.open(tmp_path)
    vault.update(_store_secret)
    real_replace = os.replace

    def crash_on_vault(src: Any, dst: Any) -> None:
        if Path(dst).name == "vault.bin":
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_vault)
    with pytest.raises(KeyboardInterrupt):
        vault.rotate_key()
    monkeypatch.undo()

    assert len(_stored_keys(tmp_path)) == 2
    assert Vault.open(tmp_path).read()["addressbooks"]["crm"]["api_key"] == SECRET
    Vault.open(tmp_path).rotate_key()  # and the next rotation completes the job
    assert len(_stored_keys(tmp_path)) == 1
    assert Vault.open(tmp_path).read()["addressbooks"]["crm"]["api_key"] == SECRET


# --- OS keyring -----------------------------------------------------------------------------------------


def test_key_goes_to_the_keyring_when_one_works(tmp_path: Path, use_keyring: KeyringFactory) -> None:
    passwords = use_keyring("memory")
    home = tmp_path / "home"
    vault = Vault.open(home)
    vault.update(_store_secret)

    assert isinstance(vault.keys, KeyringStore)
    assert vault.key_location.startswith("OS keyring (")
    assert list(passwords) == [("partnercrmd", str(home))]
    Fernet(passwords[("partnercrmd", str(home))].encode()).decrypt(vault.path.read_bytes())
    assert not (home / "vault.key").exists()
    assert Vault.open(home).read()["addressbooks"]["crm"]["api_key"] == SECRET

    vault.rotate_key()
    assert len(passwords[("partnercrmd", str(home))].split("\n")) == 1
    assert Vault.open(home).read()["addressbooks"]["crm"]["api_key"] == SECRET


def test_two_homes_do_not_share_a_keyring_key(tmp_path: Path, use_keyring: KeyringFactory) -> None:
    passwords = use_keyring("memory")
    Vault.open(tmp_path / "a").update(_store_secret)
    Vault.open(tmp_path / "b").update(_store_secret)
    assert len(passwords) == 2
    assert len(set(passwords.values())) == 2


def test_unusable_keyring_never_downgrades_an_existing_vault(tmp_path: Path, use_keyring: KeyringFactory) -> None:
    use_keyring("memory")
    Vault.open(tmp_path).update(_store_secret)
    before = (tmp_path / "vault.bin").read_bytes()

    for kind in ("fail", "null", "broken"):
        use_keyring(kind)
        with pytest.raises(ConfigError, match=r"keyring.*unavailable") as excinfo:
            Vault.open(tmp_path)
        assert excinfo.value.code == "vault_key_missing"
        assert (tmp_path / "vault.bin").read_bytes() == before
        assert not (tmp_path / "vault.key").exists()

    use_keyring("memory")
    assert Vault.open(tmp_path).read()["addressbooks"]["crm"]["api_key"] == SECRET


def test_forcing_the_key_file_does_not_hide_a_keyring_key(
    tmp_path: Path, use_keyring: KeyringFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keyring("memory")
    Vault.open(tmp_path).update(_store_secret)
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    with pytest.raises(ConfigError, match="PARTNERCRMD_KEYRING"):
        Vault.open(tmp_path)
    assert not (tmp_path / "vault.key").exists()


@pytest.mark.parametrize("kind", ["fail", "null", "broken"])
def test_unusable_keyring_means_a_key_file_said_plainly(tmp_path: Path, use_keyring: KeyringFactory, kind: str) -> None:
    use_keyring(kind)
    vault = Vault.open(tmp_path)
    vault.update(_store_secret)
    assert isinstance(vault.keys, KeyFileStore)
    assert vault.key_location == f"key file {tmp_path / 'vault.key'} (keyring unavailable)"
    assert _mode(tmp_path / "vault.key") == 0o600


def test_a_key_file_from_before_the_keyring_stays_in_use(tmp_path: Path, use_keyring: KeyringFactory) -> None:
    use_keyring("fail")
    Vault.open(tmp_path).update(_store_secret)
    passwords = use_keyring("memory")
    vault = Vault.open(tmp_path)
    assert isinstance(vault.keys, KeyFileStore)
    assert "key file" in vault.key_location
    assert vault.read()["addressbooks"]["crm"]["api_key"] == SECRET
    assert passwords == {}
