"""The partner's commands and the user's unlock, as real `partnercrmd` processes: keygen, unlock-code, unlock,
viewer export; and the CLI speaking the partner's product name."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from partnercrmd.catalogue import UNLOCKED_KEY
from partnercrmd.partner_keys import generate_private_key
from partnercrmd.testing import addin_site, write_branding
from partnercrmd.vault import Vault
from tests.daemon_process import describe, error_line, run_cli

TESTS = Path(__file__).resolve().parent
SHIPPED = ("local", "carddav", "vipcrm")
"""The integrations the branded build in these tests ships."""


@pytest.fixture
def controlled_site(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH under which the installed `partnercrmd` finds tests/controlled_addin.py through an entry point."""
    return addin_site(
        tmp_path / "site", {"controlled": "controlled_addin"}, distribution="controlledaddin", also=[TESTS]
    )


def keygen(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[Path, str]:
    key_file = tmp_path / "partner" / "signing.pem"
    result = run_cli(tmp_path / "home", "partner", "keygen", "--out", str(key_file), extra_env=env)
    assert result.returncode == 0, describe(result)
    match = re.search(r'^public_key = "([A-Za-z0-9_-]{43})"$', result.stdout, re.MULTILINE)
    assert match, result.stdout
    return key_file, match.group(1)


def test_keygen_writes_a_private_key_only_the_user_can_read_and_never_overwrites_it(tmp_path: Path) -> None:
    key_file, public = keygen(tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again = run_cli(tmp_path / "home", "partner", "keygen", "--out", str(key_file))
    assert again.returncode == 2 and "exists already" in error_line(again)
    forced = run_cli(tmp_path / "home", "partner", "keygen", "--out", str(key_file), "--force")
    assert forced.returncode == 0 and public not in forced.stdout


def test_an_unlock_code_unlocks_what_it_names_and_nothing_else(tmp_path: Path, controlled_site: dict[str, str]) -> None:
    home = tmp_path / "home"
    key_file, public = keygen(tmp_path)
    env = {**controlled_site, "PARTNERCRMD_BRANDING": str(write_branding(tmp_path, public_key=public, shipped=SHIPPED))}
    issued = run_cli(home, "partner", "unlock-code", "--private-key", str(key_file), "--id", "order-17", "othercrm")
    assert issued.returncode == 0, describe(issued)
    refused = run_cli(home, "unlock", issued.stdout.strip(), extra_env=env)
    assert refused.returncode == 2
    assert "unlocks othercrm, which this installation does not have" in error_line(refused)
    assert error_line(refused).startswith("Acme Connect: ")
    tampered = issued.stdout.strip()[:-3] + ("AAA" if not issued.stdout.strip().endswith("AAA") else "BBB")
    bad = run_cli(home, "unlock", tampered, extra_env=env)
    assert bad.returncode == 2 and "not issued for this product or has been altered" in error_line(bad)

    good = run_cli(home, "partner", "unlock-code", "--private-key", str(key_file), "--id", "order-18", "vipcrm")
    unlocked = run_cli(home, "unlock", good.stdout.strip(), extra_env=env)
    assert unlocked.returncode == 0, describe(unlocked)
    assert "Unlocked: VIP CRM (vipcrm)" in unlocked.stdout and "Acme Connect" in unlocked.stdout
    doc = Vault.open(home).read()
    assert doc[UNLOCKED_KEY]["vipcrm"]["code_id"] == "order-18"
    types = run_cli(home, "books", "types", extra_env=env)
    assert "vipcrm" in types.stdout


def test_unlock_without_a_partner_key_says_so(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "home", "unlock", "unlock.abc.def")
    assert result.returncode == 2
    assert "no partner public key" in error_line(result)


def test_the_cli_speaks_the_partner_product_name(tmp_path: Path) -> None:
    _, public = keygen(tmp_path)
    env = {"PARTNERCRMD_BRANDING": str(write_branding(tmp_path, public_key=public, shipped=SHIPPED))}
    assert run_cli(tmp_path / "home", "version", extra_env=env).stdout.startswith("Acme Connect 0.1.0")
    missing = run_cli(tmp_path / "home", "books", "remove", "nothing", extra_env=env)
    assert error_line(missing).startswith("Acme Connect: No address book 'nothing'")


def test_viewer_export_writes_the_partner_viewer_with_only_shipped_standard_integrations(
    tmp_path: Path, controlled_site: dict[str, str]
) -> None:
    _, public = keygen(tmp_path)
    logo = tmp_path / "acme.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    branding = write_branding(
        tmp_path,
        public_key=public,
        shipped=SHIPPED,
        logo="acme.png",
        request_integration_url="https://acme.example/ask",
        guide_url="https://acme.example/guide",
    )
    with branding.open("a", encoding="utf-8") as more:
        more.write('[product.colours]\nprimary = "#7a1f5c"\nbackground = "url(javascript:alert(1))"\n')
    out = tmp_path / "site" / "crm"
    env = {**controlled_site, "PARTNERCRMD_BRANDING": str(branding)}
    result = run_cli(tmp_path / "home", "viewer", "export", str(out), extra_env=env)
    assert result.returncode == 0, describe(result)
    assert "Acme Connect CRM viewer (2 integrations)" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["branding.css", "index.html", "logo.png", "style.css", "viewer.js"]
    html = (out / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'data-integration="([a-z]+)"', html)
    assert rows == ["carddav", "local"]  # shipped and Standard; LDAP, SQL… not shipped; VIP CRM is Controlled
    assert "Acme Connect" in html and 'src="logo.png"' in html and "https://acme.example/ask" in html
    assert "partnercrmd" not in html.lower()
    css = (out / "branding.css").read_text(encoding="utf-8")
    assert "--primary: #7a1f5c;" in css and "javascript" not in css
    unbranded = run_cli(tmp_path / "home2", "viewer", "export", str(tmp_path / "all"))
    all_rows = re.findall(r'data-integration="([a-z]+)"', (tmp_path / "all" / "index.html").read_text("utf-8"))
    assert {"local", "carddav", "ldap", "sql"} <= set(all_rows), describe(unbranded)


def test_the_example_branding_file_documents_keys_the_parser_accepts(tmp_path: Path) -> None:
    from partnercrmd.branding import load_branding_file

    example = (TESTS.parent / "packaging" / "branding.example.toml").read_text(encoding="utf-8")
    public = generate_private_key()[1]
    text = example.replace("REPLACE-with-the-line-partner-keygen-prints", public)
    (tmp_path / "acme-logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = tmp_path / "branding.toml"
    path.write_text(text, encoding="utf-8")
    branding = load_branding_file(path)
    assert branding.product_name == "Acme Connect" and branding.vendor == "Acme Telecom"
    assert branding.logo == tmp_path / "acme-logo.png"
    assert set(branding.colours) == {"primary", "accent", "background", "text"}
    assert "vipcrm" in branding.shipped_integrations and branding.public_key is not None
    assert branding.licensing.provider == "file" and branding.licensing.licence_file == tmp_path / "licence.lic"
    assert branding.request_integration_url.startswith("https://acme.example/")
    assert branding.install_hint == "run the Acme Connect installer again and tick '{extra}'"
