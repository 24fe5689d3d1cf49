"""The vault: one encrypted file holding settings, address-book configurations, secrets and applications.

The file is a Fernet token of a UTF-8 JSON object. Its key lives in the OS keyring when one works,
otherwise in a 0600 key file in a 0700 directory; `Vault.key_location` says which, plainly. Writes are
atomic (`platform.files.atomic_write`: temp file beside it, fsync, rename, fsync of the directory) and
happen under an exclusive inter-process lock (`platform.files.exclusive_lock`), so the daemon and CLI
commands can change the vault at the same time.

All calls here block on file I/O (and possibly on the keyring): run them off the event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import keyring
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from keyring.backends import chainer, fail, null

from partnercrmd.errors import ConfigError
from partnercrmd.migrations import CURRENT_SCHEMA, migrate
from partnercrmd.platform import files

__all__ = ["KeyFileStore", "KeyStore", "KeyringStore", "Vault", "keyring_status"]

T = TypeVar("T")

SCHEMA_VERSION = CURRENT_SCHEMA
VAULT_FILE = "vault.bin"
KEY_FILE = "vault.key"
KEYRING_SERVICE = "partnercrmd"
KEYRING_ENV = "PARTNERCRMD_KEYRING"
_ENV_OFF = {"0", "false", "no", "off"}


# --- key stores -------------------------------------------------------------------------------------------


class KeyStore(Protocol):
    """Where the vault's Fernet keys live; the first key encrypts, all of them decrypt."""

    @property
    def description(self) -> str:
        """Human text for the UI and CLI, e.g. "OS keyring (SecretService)"."""
        ...

    def load(self) -> list[bytes] | None:
        """Return the stored keys (newest first), or None when none are stored."""
        ...

    def save(self, keys: list[bytes]) -> None:
        """Replace the stored keys with `keys` (newest first)."""
        ...


def _parse_keys(text: str, where: str) -> list[bytes] | None:
    """Split newline-separated Fernet keys and check each one; None when there are none."""
    keys = [line.strip().encode("ascii", "replace") for line in text.splitlines() if line.strip()]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(f"The vault key in {where} is malformed.", code="vault_key_invalid") from None
    return keys or None


def _check_keys(keys: list[bytes]) -> None:
    if not keys:
        raise ValueError("at least one key is needed")
    for key in keys:
        Fernet(key)  # raises ValueError on a malformed key; the message does not contain the key


class KeyFileStore:
    """Keys one per line in a 0600 file inside a 0700 directory."""

    def __init__(self, path: Path, *, reason: str | None = None) -> None:
        self.path = path
        self.reason = reason

    def __repr__(self) -> str:
        return f"KeyFileStore({str(self.path)!r})"

    @property
    def description(self) -> str:
        return f"key file {self.path}" + (f" ({self.reason})" if self.reason else "")

    def load(self) -> list[bytes] | None:
        try:
            with open(self.path, encoding="ascii", errors="replace") as f:
                files.tighten(f.fileno(), 0o600)
                text = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the vault key file {self.path}: {exc.strerror}.", code="vault_key_unavailable"
            ) from None
        return _parse_keys(text, str(self.path))

    def save(self, keys: list[bytes]) -> None:
        _check_keys(keys)
        files.ensure_private_dir(self.path.parent)
        files.atomic_write(self.path, b"".join(key + b"\n" for key in keys))


def keyring_status() -> tuple[bool, str]:
    """Whether the OS keyring has a usable backend, and its display name (or why it is unusable)."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a broken keyring setup must not stop the daemon
        return False, f"keyring failed to load: {type(exc).__name__}"
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False, "no keyring backend"
    if isinstance(backend, chainer.ChainerBackend):
        try:
            chained = list(backend.backends)
        except Exception as exc:  # noqa: BLE001 - discovering chained backends imports third-party code
            return False, f"keyring failed to load: {type(exc).__name__}"
        if not chained:
            return False, "no keyring backend"
        backend = chained[0]
    return True, _backend_name(type(backend))


def _backend_name(cls: type[object]) -> str:
    """Short name of a keyring backend: its module's last part, e.g. SecretService, macOS, Windows."""
    name = cls.__module__.rpartition(".")[2]
    return name if name and name != "__main__" else cls.__name__


class KeyringStore:
    """Keys joined by newlines in one password of the OS keyring."""

    def __init__(self, service: str, username: str) -> None:
        self.service = service
        self.username = username

    def __repr__(self) -> str:
        return f"KeyringStore({self.service!r}, {self.username!r})"

    @property
    def description(self) -> str:
        usable, name = keyring_status()
        return f"OS keyring ({name})" if usable else f"OS keyring (unavailable: {name})"

    def load(self) -> list[bytes] | None:
        try:
            text = keyring.get_password(self.service, self.username)
        except Exception as exc:  # noqa: BLE001 - each backend raises its own types (D-Bus, ...)
            raise _keyring_error("read", exc) from None
        if text is None:
            return None
        return _parse_keys(text, "the OS keyring")

    def save(self, keys: list[bytes]) -> None:
        _check_keys(keys)
        try:
            keyring.set_password(self.service, self.username, "\n".join(k.decode("ascii") for k in keys))
        except Exception as exc:  # noqa: BLE001 - see load()
            raise _keyring_error("write", exc) from None


def _keyring_error(action: str, exc: Exception) -> ConfigError:
    # Keyring errors never carry the password; the message is kept short all the same.
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return ConfigError(
        f"Cannot {action} the vault key in the OS keyring: {type(exc).__name__}"
        + (f": {detail}" if detail else "")
        + ".",
        code="vault_key_unavailable",
    )


# --- files -----------------------------------------------------------------------------------------------


# --- the vault --------------------------------------------------------------------------------------------


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Vault:
    """The encrypted local store; `read` for a snapshot, `update` to change it safely across processes."""

    def __init__(self, path: Path, keys: KeyStore) -> None:
        self.path = path
        self.keys = keys
        self.lock_path = path.with_suffix(".lock")
        self._fernet: MultiFernet | None = None

    def __repr__(self) -> str:
        return f"Vault({str(self.path)!r}, {self.keys!r})"

    @classmethod
    def open(cls, directory: Path) -> Vault:
        """Open (or prepare) `directory/vault.bin`, keeping its key in the OS keyring when one works."""
        directory = Path(os.path.abspath(directory.expanduser()))
        files.ensure_private_dir(directory)
        vault_path = directory / VAULT_FILE
        key_path = directory / KEY_FILE
        with files.exclusive_lock(vault_path.with_suffix(".lock")):
            files.remove_stale_temps(vault_path)
            files.remove_stale_temps(key_path)
            store = _choose_key_store(directory, vault_path, key_path)
        return cls(vault_path, store)

    @property
    def key_location(self) -> str:
        """Where the key is, in words for the UI and CLI."""
        return self.keys.description

    def stamp(self) -> tuple[int, int, int] | None:
        """(mtime_ns, size, inode) of the vault file, or None if it does not exist; cheap change detection."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def read(self) -> dict[str, Any]:
        """Decrypt and return the document (migrated to SCHEMA_VERSION); a fresh one when there is no vault yet."""
        token = self._read_token()
        if token is None:
            return {"schema": SCHEMA_VERSION}
        if self._fernet is not None:
            with contextlib.suppress(InvalidToken):
                return self._migrate(self._decode(self._fernet.decrypt(token)))[0]
        # No keys loaded yet, or another process rotated them. Keys and file are read together under the
        # lock, so a rotation cannot happen between the two.
        with files.exclusive_lock(self.lock_path):
            token = self._read_token()
            if token is None:
                return {"schema": SCHEMA_VERSION}
            fernet = self._load_fernet(create=False)
            doc = self._migrate(self._decode(self._decrypt(fernet, token)))[0]
        self._fernet = fernet
        return doc

    def update(self, fn: Callable[[dict[str, Any]], T]) -> T:
        """Under the inter-process lock: read the vault fresh, let `fn` change the document, write it.

        Returns what `fn` returns. If `fn` raises, nothing is written. `fn` must not call the vault itself.
        """
        with files.exclusive_lock(self.lock_path):
            # Keys are loaded fresh under the lock: a rotation by another process must not be undone.
            fernet = self._load_fernet(create=True)
            self._fernet = fernet
            token = self._read_token()
            before: bytes | None = None
            old_schema = SCHEMA_VERSION
            if token is None:
                doc: dict[str, Any] = {"schema": SCHEMA_VERSION}
            else:
                before = self._decrypt(fernet, token)
                doc, old_schema = self._migrate(self._decode(before))
            result = fn(doc)
            doc.setdefault("schema", SCHEMA_VERSION)
            after = _encode(doc)
            if after != before:  # an unchanged document is not rewritten, so stamp() stays quiet
                if token is not None and old_schema < SCHEMA_VERSION:  # keep the pre-migration file
                    files.atomic_write(self.backup_path(old_schema), token)
                files.atomic_write(self.path, fernet.encrypt(after))
            return result

    def rotate_key(self) -> None:
        """Encrypt the vault with a new key and forget the old ones; safe against a crash at any point."""
        with files.exclusive_lock(self.lock_path):
            old = self._load_keys(create=True)
            old_fernet = MultiFernet([Fernet(k) for k in old])
            token = self._read_token()
            plain = None if token is None else self._decrypt(old_fernet, token)
            new = Fernet.generate_key()
            # Both keys are stored before the vault changes, so the vault always has a stored key.
            self.keys.save([new, *old])
            new_fernet = MultiFernet([Fernet(new)])
            if plain is not None:
                files.atomic_write(self.path, new_fernet.encrypt(plain))
            for backup in self.path.parent.glob(f"{self.path.name}.bak-schema*"):  # backups follow the key
                with contextlib.suppress(InvalidToken, OSError):
                    files.atomic_write(backup, new_fernet.encrypt(old_fernet.decrypt(backup.read_bytes())))
            self.keys.save([new])
            self._fernet = new_fernet

    def backup_path(self, schema: int) -> Path:
        """Where the vault file is kept as it was before its first write migrated from `schema`."""
        return self.path.with_name(f"{self.path.name}.bak-schema{schema}")

    # --- internals

    def _migrate(self, doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
        return migrate(doc, f"The vault {self.path}")

    def _read_token(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"Cannot read the vault {self.path}: {exc.strerror}.", code="vault_unreadable") from None

    def _load_keys(self, *, create: bool) -> list[bytes]:
        """The stored keys; with `create`, a first key is made when there is neither a key nor a vault."""
        keys = self.keys.load()
        if keys:
            return keys
        if self.path.exists():
            raise ConfigError(
                f"The vault {self.path} exists but its key is missing from the {self.key_location}. "
                "Restore the key, or move the vault aside to start again; "
                "a new key could not decrypt it, so none is made.",
                code="vault_key_missing",
            )
        if not create:
            raise ConfigError("The vault has no key yet.", code="vault_key_missing")
        key = Fernet.generate_key()
        self.keys.save([key])
        return [key]

    def _load_fernet(self, *, create: bool) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self._load_keys(create=create)])

    def _decrypt(self, fernet: MultiFernet, token: bytes) -> bytes:
        try:
            return fernet.decrypt(token)
        except InvalidToken:
            raise ConfigError(
                f"The vault {self.path} cannot be decrypted with the key from the {self.key_location}: "
                "the key does not belong to this vault or the file is damaged.",
                code="vault_unreadable",
            ) from None

    def _decode(self, plain: bytes) -> dict[str, Any]:
        try:
            doc = json.loads(plain.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            doc = None  # the exception would carry the decrypted text: drop it
        if not isinstance(doc, dict):
            raise ConfigError(f"The vault {self.path} decrypts but its content is not valid.", code="vault_unreadable")
        return doc


def _keyring_disabled() -> bool:
    return os.environ.get(KEYRING_ENV, "").strip().lower() in _ENV_OFF


def _decrypts(keys: list[bytes], token: bytes) -> bool:
    try:
        MultiFernet([Fernet(k) for k in keys]).decrypt(token)
    except InvalidToken:
        return False
    return True


def _choose_key_store(directory: Path, vault_path: Path, key_path: Path) -> KeyStore:
    """Pick the store holding this vault's key, or make a key for a new vault (call under the lock).

    Never downgrades an existing vault: if its key cannot be found, ConfigError says so and nothing is made.
    """
    vault_exists = vault_path.exists()

    def missing(why: str) -> ConfigError:
        return ConfigError(
            f"The vault {vault_path} exists but its key is missing: {why}. Restore the key, or move the "
            "vault aside to start again; a new key could not decrypt it, so none is made.",
            code="vault_key_missing",
        )

    if _keyring_disabled():
        file_store = KeyFileStore(key_path, reason=f"keyring disabled by {KEYRING_ENV}=0")
        if file_store.load():
            return file_store
        if vault_exists:
            raise missing(
                f"there is no key file {key_path} and the OS keyring is disabled by {KEYRING_ENV}=0 "
                f"(unset {KEYRING_ENV} if the key is in the keyring)"
            )
        file_store.save([Fernet.generate_key()])
        return file_store

    usable, why = keyring_status()
    ring_store = KeyringStore(KEYRING_SERVICE, str(directory))
    ring_keys: list[bytes] | None = None
    if usable:
        try:
            ring_keys = ring_store.load()
        except ConfigError as exc:
            usable, why = False, exc.message

    if not usable:
        file_store = KeyFileStore(key_path, reason="keyring unavailable")
        if file_store.load():
            return file_store
        if vault_exists:
            raise missing(
                f"the OS keyring, which holds it, is unavailable ({why}) and there is no key file "
                f"{key_path}; make the keyring available again"
            )
        file_store.save([Fernet.generate_key()])
        return file_store

    # A key file made while the keyring was unavailable stays in use: moving it would risk the only copy.
    file_store = KeyFileStore(key_path, reason="in use because the OS keyring holds no key for this vault")
    file_keys = file_store.load()
    if ring_keys and file_keys and vault_exists:
        token = vault_path.read_bytes()
        if not _decrypts(ring_keys, token) and _decrypts(file_keys, token):
            return file_store
    if ring_keys:
        return ring_store
    if file_keys:
        return file_store
    if vault_exists:
        raise missing(f"the OS keyring has no key for {directory} and there is no key file {key_path}")
    key = Fernet.generate_key()
    try:
        ring_store.save([key])
        stored = ring_store.load()
    except ConfigError:
        stored = None
    if stored == [key]:
        return ring_store
    file_store = KeyFileStore(key_path, reason="keyring unavailable")
    file_store.save([key])
    return file_store
