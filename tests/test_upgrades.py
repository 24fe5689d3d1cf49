"""Upgrades: vaults written by earlier releases load, keep every book and secret, and search; crashes during a
vault write never leave an unloadable vault.

Fixtures: tests/data/vaults/<release>/ (see the README there); one per release, never regenerated.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet

from partnercrmd import appkeys
from partnercrmd.errors import ConfigError
from partnercrmd.migrations import CURRENT_SCHEMA, MIGRATIONS, migrate
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession
from partnercrmd.vault import Vault

VAULTS = Path(__file__).parent / "data" / "vaults"
RELEASES = sorted(p.name for p in VAULTS.iterdir() if (p / "vault.bin").is_file())
FIXTURE_APP_ID = "0e0f4c3a-4c52-4f8e-9d1b-2d0d3c1d5a11"
FIXTURE_SECRET = "fixture-secret-do-not-use"


def install_fixture(release: str, config_dir: Path) -> None:
    """Copy a release's vault and key file into a config directory, private as the daemon keeps them."""
    config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in ("vault.bin", "vault.key"):
        shutil.copyfile(VAULTS / release / name, config_dir / name)
        os.chmod(config_dir / name, 0o600)


def decrypt_file(path: Path, key_file: Path) -> dict[str, Any]:
    """Decrypt a vault file without the Vault class (no migration): what is really on disk."""
    fernet = Fernet(key_file.read_bytes().strip().splitlines()[0])
    doc = json.loads(fernet.decrypt(path.read_bytes()))
    assert isinstance(doc, dict)
    return doc


def test_the_current_release_has_no_gap_in_its_migrations() -> None:
    assert len(MIGRATIONS) + 1 == CURRENT_SCHEMA
    assert RELEASES, f"no release fixture under {VAULTS}"


# --- a release's vault in the daemon --------------------------------------------------------------------


@pytest.fixture(params=RELEASES)
def release(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def partnercrmd_home(partnercrmd_home: Paths, release: str) -> Paths:
    """The plugin's private home, holding the vault `release` wrote (before the daemon starts)."""
    install_fixture(release, partnercrmd_home.config_dir)
    return partnercrmd_home


async def test_release_vault_loads_keeps_everything_and_searches(
    release: str, partnercrmd_home: Paths, partnercrmd_client: TestClient[web.Request, web.Application]
) -> None:
    app = partnercrmd_client.app
    config_dir = partnercrmd_home.config_dir
    original = decrypt_file(config_dir / "vault.bin.bak-schema1", config_dir / "vault.key")
    assert original == decrypt_file(VAULTS / release / "vault.bin", VAULTS / release / "vault.key")

    doc = decrypt_file(config_dir / "vault.bin", config_dir / "vault.key")
    assert doc["schema"] == CURRENT_SCHEMA
    assert doc["install"] == original["install"]  # same token and signing key
    assert doc["apps"] == original["apps"]
    assert set(doc["books"]) == set(original["books"]) == {"local", "customers-db"}
    for book_id, book in original["books"].items():
        assert doc["books"][book_id]["settings"] == book["settings"]
        assert doc["books"][book_id]["settings_version"] == 1
    assert doc["books"]["customers-db"]["settings"]["password"] == FIXTURE_SECRET
    assert doc["retired_book_ids"] == []

    # The daemon serves both books (the PostgreSQL one cannot connect: nothing listens on its port).
    assert {b.id for b in app[appkeys.BOOKS].books()} == {"local", "customers-db"}
    assert app[appkeys.INSTALL_TOKEN].value == original["install"]["token"]

    # The application approved under the old release still may search, and finds the sample contact.
    session = ApiSession(partnercrmd_client, FIXTURE_APP_ID)
    books = await session.call("GET", "AddressBooks")
    assert {b["AddinId"] for b in books} >= {"local", "customers-db"}, books
    collections = await session.call("POST", "Search", query="Huffman")
    local = next(c for c in collections if c["AddinId"] == "local")
    assert [r["DisplayText"] for r in local["Records"]] == ["Chris Huffman"]


def test_migration_is_idempotent_and_never_drops_books(tmp_path: Path) -> None:
    install_fixture(RELEASES[0], tmp_path)
    original = decrypt_file(tmp_path / "vault.bin", tmp_path / "vault.key")
    migrated, schema = migrate(original)
    assert schema == 1 and original["schema"] == 1  # the input is not changed
    assert migrate(migrated) == (migrated, CURRENT_SCHEMA)
    weird = {"books": {"b": {"type": "x", "name": "B", "auto_pop": "on_ringing", "settings": {"k": "v"}}}}
    result, schema = migrate(weird)
    assert schema == 1  # no "schema": the first one
    assert result["books"]["b"] == {
        "id": "b",
        "type": "x",
        "name": "B",
        "auto_pop": "OnRinging",
        "settings": {"k": "v"},
        "settings_version": 1,
    }
    assert migrate({"books": {"b": {"auto_pop": "sometimes"}}})[0]["books"]["b"]["auto_pop"] == "Never"


def test_vault_from_a_newer_release_is_refused_and_left_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    vault = Vault.open(tmp_path)
    vault.update(lambda doc: doc.update(books={"crm": {"settings": {"api_key": "k"}}}))
    key = (tmp_path / "vault.key").read_bytes().strip()
    newer = {"schema": CURRENT_SCHEMA + 1, "books": {"crm": {"settings": {"api_key": "k"}}}}
    (tmp_path / "vault.bin").write_bytes(Fernet(key).encrypt(json.dumps(newer).encode()))
    before = (tmp_path / "vault.bin").read_bytes()

    fresh = Vault.open(tmp_path)
    for attempt in (fresh.read, lambda: fresh.update(lambda doc: doc.update(x=1))):
        with pytest.raises(ConfigError) as caught:
            attempt()
        assert caught.value.code == "vault_schema_newer"
        assert f"schema {CURRENT_SCHEMA + 1}" in caught.value.message
        assert "newer partnercrmd" in caught.value.message
    assert (tmp_path / "vault.bin").read_bytes() == before
    assert not list(tmp_path.glob("vault.bin.bak-*"))


def test_backup_follows_a_key_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_fixture(RELEASES[0], tmp_path)
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    vault = Vault.open(tmp_path)
    vault.update(lambda doc: None)  # the first write: migrates and keeps the backup
    backup = vault.backup_path(1)
    original = decrypt_file(backup, tmp_path / "vault.key")
    vault.rotate_key()
    assert decrypt_file(backup, tmp_path / "vault.key") == original


# --- SIGKILL during vault writes ------------------------------------------------------------------------

HAMMER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from partnercrmd.vault import Vault

    vault = Vault.open(Path(sys.argv[1]))
    padding = os.urandom(96 * 1024).hex()  # ~200 kB documents: writes take long enough to be interrupted

    def bump(doc):
        doc["counter"] = doc.get("counter", 0) + 1
        doc["padding"] = padding[doc["counter"] % 1000:]

    print("ready", flush=True)
    while True:
        vault.update(bump)
    """
)


def test_sigkill_during_vault_writes_leaves_a_loadable_vault(tmp_path: Path) -> None:
    home = tmp_path / "home"
    install_fixture(RELEASES[0], home)  # the first write killed may be the migrating one
    original = decrypt_file(home / "vault.bin", home / "vault.key")
    env = {**os.environ, "PARTNERCRMD_KEYRING": "0"}
    rng = random.Random(9)  # noqa: S311 - kill moments, not secrets
    last_counter = 0
    for kill in range(20):
        errors = tmp_path / f"writer-{kill}.stderr"
        with (
            open(errors, "wb") as err,
            subprocess.Popen(
                [sys.executable, "-c", HAMMER, str(home)], env=env, stdout=subprocess.PIPE, stderr=err
            ) as proc,
        ):
            try:
                assert proc.stdout is not None
                assert proc.stdout.readline() == b"ready\n", errors.read_text(errors="replace")
                time.sleep(rng.uniform(0.0, 0.15))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL, f"kill {kill}: the writer ended by itself: {errors.read_text()}"

        doc = Vault.open(home).read()  # decrypts to a valid document: the old one or the new one
        assert doc["schema"] == CURRENT_SCHEMA
        assert set(doc["books"]) == set(original["books"])
        assert doc["books"]["customers-db"]["settings"]["password"] == FIXTURE_SECRET
        assert doc["install"] == original["install"]
        counter = int(doc.get("counter", 0))
        assert counter >= last_counter
        last_counter = counter
        assert not list(home.glob(".vault.bin.*.tmp")), "Vault.open removes the temp files a crash left"
        backup = home / "vault.bin.bak-schema1"
        if backup.exists():
            assert decrypt_file(backup, home / "vault.key") == original
    assert last_counter > 0, "no write completed in 20 runs"
