"""`partnercrmd licence issue|install|show`: the partner signs licence files, the user installs and checks them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from partnercrmd.partner_keys import generate_private_key
from partnercrmd.testing import write_branding
from tests.daemon_process import describe, error_line, run_cli


def test_licence_issue_install_and_show(tmp_path: Path) -> None:
    pem, public = generate_private_key()
    key = tmp_path / "partner.pem"
    key.write_text(pem, encoding="ascii")
    env: dict[str, Any] = {
        "PARTNERCRMD_BRANDING": str(
            write_branding(tmp_path, public_key=public, name="Acme Phone", licensing={"provider": "file"})
        )
    }
    home = tmp_path / "home"
    issued = run_cli(
        home, "licence", "issue", "--key", str(key), "--licensee", "Acme Ltd", "--user", "alice", "--user", "bob",
        "--months", "3", "--out", str(tmp_path / "acme.lic"), extra_env=env,
    )  # fmt: skip
    assert issued.returncode == 0, describe(issued)
    assert "alice, bob" in issued.stdout
    none_yet = run_cli(home, "licence", "show", extra_env=env)
    assert none_yet.returncode == 1 and "no licence file" in none_yet.stdout.lower()
    installed = run_cli(home, "licence", "install", str(tmp_path / "acme.lic"), extra_env=env)
    assert installed.returncode == 0, describe(installed)
    shown = run_cli(home, "licence", "show", "--user", "alice", extra_env=env)
    assert shown.returncode == 0, describe(shown)
    assert "Licence file: Acme Ltd, 2 named users" in shown.stdout and "User alice: licensed" in shown.stdout
    other = run_cli(home, "licence", "show", "--user", "mallory", extra_env=env)
    assert other.returncode == 1 and "NOT licensed" in other.stdout


def test_licence_commands_refuse_bad_input(tmp_path: Path) -> None:
    _, public = generate_private_key()
    env: dict[str, Any] = {
        "PARTNERCRMD_BRANDING": str(
            write_branding(tmp_path, public_key=public, name="Acme Phone", licensing={"provider": "file"})
        )
    }
    home = tmp_path / "home"
    missing = run_cli(home, "licence", "issue", "--key", str(tmp_path / "none.pem"), "--licensee", "A", "--seats", "2")
    assert missing.returncode == 2 and "Cannot read the private key" in error_line(missing)
    (tmp_path / "other.pem").write_text(generate_private_key()[0], encoding="ascii")
    foreign = run_cli(
        home, "licence", "issue", "--key", str(tmp_path / "other.pem"), "--licensee", "A", "--seats", "2",
        "--out", str(tmp_path / "foreign.lic"),
    )  # fmt: skip
    assert foreign.returncode == 0, describe(foreign)
    refused = run_cli(home, "licence", "install", str(tmp_path / "foreign.lic"), extra_env=env)
    assert refused.returncode == 2 and "not issued for this product or has been altered" in error_line(refused)
    both = run_cli(home, "licence", "issue", "--key", "k", "--licensee", "A", "--seats", "2", "--user", "x")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_licence_show_lists_what_the_licensing_service_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partnercrmd.licensing.http_provider import CACHE_KEY
    from partnercrmd.paths import Paths
    from partnercrmd.vault import Vault

    licensing = {"provider": "http", "endpoint": "https://licensing.example/check", "grace_hours": 24}
    branding = write_branding(tmp_path, name="Acme Phone", licensing=licensing)
    home = tmp_path / "home"
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")  # the vault key in a key file, as the command finds it
    paths = Paths.under(home)
    paths.ensure()
    vault = Vault.open(paths.config_dir)
    answers = {"alice": {"licensed": True, "checked": 1_790_000_000.0}, "bob": {"licensed": False, "checked": 1.0}}
    vault.update(lambda doc: doc.__setitem__(CACHE_KEY, answers))
    shown = run_cli(
        home, "licence", "show", extra_env={"PARTNERCRMD_BRANDING": str(branding), "PARTNERCRMD_KEYRING": "0"}
    )
    assert shown.returncode == 0, describe(shown)
    assert "Licensing: Licensing service" in shown.stdout
    assert "https://licensing.example/check" in shown.stdout and "grace 24 h" in shown.stdout
    assert "alice: licensed" in shown.stdout and "bob: not licensed" in shown.stdout
