"""The `partnercrmd` command line, run as a subprocess against a real running daemon.

`books …` changes reach the running daemon (GET AddressBooks) within about a second; bad input exits
non-zero with one clear `partnercrmd: …` line on stderr and changes nothing; `import` reads every real
export in shared/data/vcards into the local book, which the daemon then searches by name and by number;
`vault rotate-key` leaves a daemon (restarted) with its books and contacts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import partnercrmd
from tests.daemon_process import (
    Daemon,
    collection_of,
    describe,
    display_texts,
    error_line,
    run_cli,
    running_daemon,
    wait_until,
)

SHARED_ENV = "PARTNERCRMD_SHARED"
LOCAL = "Local address book"
SAMPLE_NUMBER = "02079460958"
SAMPLE_NAME = "Alice Hartley"
CHANGE_WINDOW = 1.5
"""How long the running daemon may take to follow a change the CLI made to the vault (~1 s)."""
NUMBER_FILE = "John_Doe_IPHONE.vcf"
"""The export whose first TEL value the number search uses."""


def shared_dir() -> Path | None:
    """../shared beside the project (or $PARTNERCRMD_SHARED), None when neither exists."""
    candidates = [Path(__file__).resolve().parents[2] / "shared"]
    if os.environ.get(SHARED_ENV):
        candidates.append(Path(os.environ[SHARED_ENV]))
    return next((c for c in candidates if (c / "data" / "vcards").is_dir()), None)


def vcard_dir() -> Path:
    shared = shared_dir()
    if shared is None:
        pytest.fail(f"shared/data/vcards not found beside the project; set {SHARED_ENV} to the shared directory")
    return shared / "data" / "vcards"


def _vcard_names() -> list[str]:
    shared = shared_dir()
    names = sorted(p.name for p in (shared / "data" / "vcards").glob("*.vcf")) if shared else []
    return names or ["<no shared/data/vcards/*.vcf found>"]


VCARD_NAMES = _vcard_names()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    home = tmp_path_factory.mktemp("cli") / "partnercrmd-home"
    with running_daemon(home) as running:
        yield running


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    return daemon.register_trusted("CLI tests")


def cli(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(daemon.home, *args)


def ok(daemon: Daemon, *args: str) -> str:
    """Run a command that must succeed; its stdout."""
    result = cli(daemon, *args)
    assert result.returncode == 0, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    return result.stdout


def book_named(books: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((b for b in books if b["Name"] == name), None)


def contact_count(daemon: Daemon, book: str = LOCAL) -> int:
    """The number of contacts `books test` reports for a local book."""
    out = ok(daemon, "books", "test", book)
    match = re.search(r"(\d+) contacts", out)
    assert match, out
    return int(match.group(1))


# --- version, types, list ---------------------------------------------------------------------------------


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "home", "version")
    assert result.returncode == 0, describe(result)
    assert result.stdout == f"partnercrmd {partnercrmd.__version__}\n"


def test_books_types_lists_the_local_integration(daemon: Daemon) -> None:
    lines = ok(daemon, "books", "types").splitlines()
    assert lines[0].split()[:2] == ["TYPE", "NAME"], lines
    local = [line for line in lines[1:] if line.split()[0] == "local"]
    assert len(local) == 1 and LOCAL in local[0], lines


def test_books_list_shows_the_embedded_book(daemon: Daemon) -> None:
    lines = ok(daemon, "books", "list").splitlines()
    line = next((line for line in lines if LOCAL in line), "")
    assert line.split()[1] == "local", lines
    assert "enabled" in line and "seed_samples=True" in line, line


def test_books_add_on_a_fresh_home_keeps_the_embedded_book(tmp_path: Path) -> None:
    # Provisioning a book by script before the daemon's first start must not cost the user the embedded
    # local book (where `import` puts contacts); the daemon configures it "on the very first start".
    home = tmp_path / "home"
    added = run_cli(home, "books", "add", "local", "--name", "Provisioned")
    assert added.returncode == 0, describe(added)
    listed = run_cli(home, "books", "list")
    assert listed.returncode == 0, describe(listed)
    assert "Provisioned" in listed.stdout
    assert LOCAL in listed.stdout, f"the embedded local book is gone:\n{listed.stdout}"


# --- books add / set / remove / test reach the running daemon ---------------------------------------------


def test_books_add_set_remove_reach_the_running_daemon(daemon: Daemon, app_id: str) -> None:
    name = "Sales team"
    out = ok(daemon, "books", "add", "local", "--name", name, "--set", "seed_samples=true")
    match = re.search(r"id ([\w-]+)", out)
    assert out.startswith(f"Added '{name}'") and match, out
    book_id = match.group(1)
    assert name in ok(daemon, "books", "list")

    added = wait_until(
        lambda: book_named(daemon.address_books(app_id), name), timeout=CHANGE_WINDOW, what="book in AddressBooks"
    )
    assert added["AddinId"] == book_id and added["CrmAddinTypeId"] == "local"
    assert added["Enabled"] is True and added["Status"] == "Ready", added
    found = daemon.search(app_id, SAMPLE_NUMBER)
    assert display_texts(collection_of(found, book_id)) == [SAMPLE_NAME], "seed_samples=true: the samples"

    out = ok(daemon, "books", "set", name, "--set", "priority=5")
    assert f"Changed '{name}'" in out
    books = wait_until(
        lambda: b if (b := daemon.address_books(app_id))[0]["AddinId"] == book_id else None,
        timeout=CHANGE_WINDOW,
        what="the book first in AddressBooks",
    )
    assert books[0]["Priority"] == 5
    assert daemon.search(app_id, SAMPLE_NUMBER)[0]["AddinId"] == book_id, "results follow priority"

    out = ok(daemon, "books", "remove", name)
    assert f"Removed '{name}'" in out
    wait_until(
        lambda: book_named(daemon.address_books(app_id), name) is None,
        timeout=CHANGE_WINDOW,
        what="book gone from AddressBooks",
    )
    assert book_id not in [c["AddinId"] for c in daemon.search(app_id, SAMPLE_NUMBER)]
    assert name not in ok(daemon, "books", "list")


def test_books_test_checks_the_local_book(daemon: Daemon) -> None:
    out = ok(daemon, "books", "test", LOCAL)
    lines = out.splitlines()
    assert lines and all(line.startswith("ok") for line in lines), out
    assert contact_count(daemon) >= 1


# --- bad input: non-zero, one clear line, nothing changed -------------------------------------------------

BAD_INPUT = [
    pytest.param(["books", "add", "nosuchcrm"], "'nosuchcrm'", id="unknown-type"),
    pytest.param(["books", "add", "local", "--name", "Y", "--set", "colour=blue"], "'colour'", id="unknown-setting"),
    pytest.param(
        ["books", "add", "local", "--name", "Y", "--set", "seed_samples=maybe"], "true or false", id="bad-boolean"
    ),
    pytest.param(["books", "set", LOCAL, "--set", "enabled=perhaps"], "true or false", id="bad-boolean-option"),
    pytest.param(["books", "set", LOCAL, "--set", "priority=high"], "whole number", id="bad-integer"),
    pytest.param(["books", "set", LOCAL, "--set", "auto_pop=Sometimes"], "OnRinging", id="bad-choice"),
    pytest.param(["books", "add", "local", "--name", LOCAL.upper()], "exists already", id="duplicate-name"),
    pytest.param(["books", "set", "nosuch", "--set", "priority=5"], "'nosuch'", id="set-missing-book"),
    pytest.param(["books", "remove", "nosuch"], "'nosuch'", id="remove-missing-book"),
    pytest.param(["books", "test", "nosuch"], "'nosuch'", id="test-missing-book"),
    pytest.param(["books", "add", "local", "--name", "Y", "--set", "seed_samples"], "key=value", id="set-without-="),
    pytest.param(["books", "set", LOCAL, "--set", "=5"], "key=value", id="set-without-key"),
    pytest.param(["books", "set", LOCAL], "--set", id="set-nothing"),
    pytest.param(["apps", "approve", "nosuchapp"], "'nosuchapp'", id="approve-unknown-app"),
]


@pytest.mark.parametrize(("args", "says"), BAD_INPUT)
def test_bad_input_fails_clearly_and_changes_nothing(daemon: Daemon, args: list[str], says: str) -> None:
    vault = daemon.home / "vault.bin"
    before = vault.read_bytes()
    result = cli(daemon, *args)
    assert result.returncode != 0, describe(result)
    message = error_line(result)
    assert message.startswith("partnercrmd: "), describe(result)
    assert says in message, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    assert result.stdout == "", describe(result)
    assert vault.read_bytes() == before, "a refused command must leave the vault as it was"


# --- import ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imports(daemon: Daemon) -> dict[str, subprocess.CompletedProcess[str]]:
    """`partnercrmd import` of every real export, one after the other, while the daemon runs."""
    directory = vcard_dir()
    files = sorted(directory.glob("*.vcf"))
    if not files:
        pytest.fail(f"no .vcf file in {directory}")
    return {path.name: cli(daemon, "import", str(path)) for path in files}


@pytest.mark.parametrize("name", VCARD_NAMES)
def test_import_real_export(imports: dict[str, subprocess.CompletedProcess[str]], name: str) -> None:
    assert name in imports, f"{name}: not found in shared/data/vcards"
    result = imports[name]
    assert result.returncode == 0, describe(result)
    match = re.search(r"^Imported (\d+) contacts", result.stdout, re.MULTILINE)
    assert match and int(match.group(1)) >= 1, describe(result)
    assert "Traceback" not in result.stderr, describe(result)


def _john_doe_cards() -> int:
    """How many cards of the exports give a plain-text FN naming both John and Doe."""
    count = 0
    for path in vcard_dir().glob("*.vcf"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.split(";")[0].upper() == "FN" and "ENCODING" not in name.upper():
                words = value.lower()
                count += "john" in words and "doe" in words
    return count


def test_search_finds_imported_john_doe(
    daemon: Daemon, app_id: str, imports: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    expected = _john_doe_cards()
    assert expected >= 1
    local = collection_of(daemon.search(app_id, "John Doe", count=100), "local")
    assert not local["ExceptionText"], local
    names = display_texts(local)
    johns = [n for n in names if "john" in n.lower() and "doe" in n.lower()]
    assert len(johns) >= expected, f"expected at least {expected} John Doe records, found {names}"


def _first_tel(path: Path) -> str:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name.split(";")[0].split(".")[-1].upper() == "TEL" and value.strip():
            return value.strip()
    raise AssertionError(f"no TEL in {path}")


def test_search_finds_imported_number_in_other_formats(
    daemon: Daemon, app_id: str, imports: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    stored = _first_tel(vcard_dir() / NUMBER_FILE)
    digits = re.sub(r"\D", "", stored)
    assert len(digits) == 10, stored
    for query in (digits, f"({digits[:3]}) {digits[3:6]} {digits[6:]}"):
        assert query != stored
        names = display_texts(collection_of(daemon.search(app_id, query), "local"))
        assert any("john" in n.lower() and "doe" in n.lower() for n in names), f"{query!r} (stored {stored!r}): {names}"


def test_import_of_a_missing_file_fails_clearly(daemon: Daemon, tmp_path: Path) -> None:
    missing = tmp_path / "nosuch.vcf"
    result = cli(daemon, "import", str(missing))
    assert result.returncode != 0, describe(result)
    assert error_line(result).startswith("partnercrmd: "), describe(result)
    assert str(missing) in error_line(result) and "No such file" in error_line(result), describe(result)


JUNK = {
    "empty.vcf": b"",
    "notes.txt": b"hello world\nthis is not a contacts file\n",
    "picture.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x08\x06\x00\x00\x00\xff\xd8\xff\xe0",
    "escapes.csv": b"\x1b[2J\x1b]0;owned\x07,\x00\x01\x02garbage\xc3\x28\nmore,junk\n",
}


@pytest.mark.parametrize("name", sorted(JUNK))
def test_import_of_a_junk_file_fails_clearly(daemon: Daemon, tmp_path: Path, name: str) -> None:
    junk = tmp_path / name
    junk.write_bytes(JUNK[name])
    count = contact_count(daemon)
    result = cli(daemon, "import", str(junk))
    assert result.returncode != 0, describe(result)
    message = error_line(result)
    assert message.startswith("partnercrmd: "), describe(result)
    assert name in message, describe(result)
    assert "vCard" in message or "CSV" in message, "say what kind of file was expected"
    assert "Traceback" not in result.stderr, describe(result)
    # Nothing from the file may reach the terminal as control characters (escape sequences, NUL…).
    control = sorted({f"{ord(c):#04x}" for c in result.stderr if (ord(c) < 0x20 and c not in "\n\t") or c == "\x7f"})
    assert not control, f"control characters {control} on stderr: {result.stderr!r}"
    assert contact_count(daemon) == count, "a refused import must add nothing"


# --- vault ------------------------------------------------------------------------------------------------


def test_vault_info_reports_the_key_file(daemon: Daemon) -> None:
    info = json.loads(ok(daemon, "vault", "info"))
    home = daemon.home.resolve()
    assert info["file"] == str(home / "vault.bin")
    assert str(home / "vault.key") in info["key"], info
    assert "keyring" in info["key"], "say why the key is in a file (PARTNERCRMD_KEYRING=0)"


def test_vault_rotate_key_keeps_books_and_contacts(
    daemon: Daemon, app_id: str, imports: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    key_file = daemon.home / "vault.key"
    old_keys = key_file.read_text(encoding="ascii").split()
    books_before = [(b["AddinId"], b["Name"]) for b in daemon.address_books(app_id)]

    out = ok(daemon, "vault", "rotate-key")
    assert str(daemon.home.resolve() / "vault.key") in out, out
    new_keys = key_file.read_text(encoding="ascii").split()
    assert len(new_keys) == 1 and new_keys[0] not in old_keys, "a new key, and the old ones forgotten"
    assert oct(key_file.stat().st_mode & 0o777) == oct(0o600)

    # The running daemon reads the vault with the new key: a change made now still reaches it.
    ok(daemon, "books", "set", LOCAL, "--set", "description=after rotation")
    wait_until(
        lambda: (book_named(daemon.address_books(app_id), LOCAL) or {}).get("Description") == "after rotation",
        timeout=CHANGE_WINDOW,
        what="a change after rotation reaching the daemon",
    )

    code = daemon.restart()
    assert code == 0, daemon.output()
    assert [(b["AddinId"], b["Name"]) for b in daemon.address_books(app_id)] == books_before
    assert display_texts(collection_of(daemon.search(app_id, SAMPLE_NUMBER), "local")) == [SAMPLE_NAME]
    johns = display_texts(collection_of(daemon.search(app_id, "John Doe"), "local"))
    assert johns, "imported contacts after the restart"
    assert "vault.key" in json.loads(ok(daemon, "vault", "info"))["key"]


def test_a_removed_book_takes_its_contacts_with_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "books", "add", "local", "--name", "Team", "--set", "seed_samples=true").returncode == 0
    assert run_cli(home, "books", "test", "Team").returncode == 0  # opens it: the samples are written
    team_dir = home / "data" / "books" / "team"
    assert team_dir.is_dir()
    assert run_cli(home, "books", "remove", "Team").returncode == 0
    assert not team_dir.exists()
    assert run_cli(home, "books", "add", "local", "--name", "Team").returncode == 0
    listed = run_cli(home, "books", "list").stdout
    assert "team-2" in listed  # a new id: nothing of the removed book can come back
