"""`GET Integrations`, the partner's branding file and the partner's signatures (partner_keys)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from partnercrmd import appkeys, hookimpl
from partnercrmd.branding import BRANDING_ENV, Branding, BrandingError, load_branding, load_branding_file
from partnercrmd.config import DaemonConfig
from partnercrmd.integration import Capability, Classification, Connector, Integration, ReleaseNote
from partnercrmd.partner_keys import (
    SignatureError,
    generate_private_key,
    load_private_key,
    load_public_key,
    sign,
    verify,
)
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession


class HiddenAddin:
    """A Controlled integration (hidden until unlocked) beside a Standard one."""

    @hookimpl
    def partnercrmd_integrations(self) -> list[Integration]:
        common: dict[str, Any] = {"open": lambda ctx: Connector(), "capabilities": frozenset({Capability.SEARCH_NAME})}
        return [
            Integration(
                id="secretcrm",
                name="Secret CRM",
                version="2.0",
                classification=Classification.CONTROLLED,
                release_notes=(ReleaseNote("2.0", "2026-11-01", "Pipelines."), ReleaseNote("1.0", "2026-01-01", "X")),
                **common,
            ),
            Integration(id="opencrm", name="Open CRM", version="1.1", guide_url="https://example.test/g", **common),
        ]


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("hidden", HiddenAddin())]


async def ids(api: ApiSession) -> list[str]:
    return [i["Id"] for i in await api.call("GET", "Integrations")]


async def test_lists_standard_integrations_with_release_notes_and_hides_controlled_ones(api: ApiSession) -> None:
    listed = {i["Id"]: i for i in await api.call("GET", "Integrations")}
    assert "secretcrm" not in listed
    assert {"local", "opencrm"} <= set(listed)
    local = listed["local"]
    assert local["Classification"] == "Standard"
    assert local["ReleaseNotes"] and local["ReleaseNotes"][0]["Version"] == local["Version"]
    assert "SearchByNumber" in local["Capabilities"]
    assert local["Addin"]["Distribution"] == "partnercrmd"
    assert listed["opencrm"]["GuideUrl"] == "https://example.test/g"


async def test_a_controlled_integration_shows_once_unlocked_in_the_vault(api: ApiSession) -> None:
    vault = api.client.app[appkeys.VAULT]
    await asyncio.to_thread(
        vault.update, lambda doc: doc.setdefault("unlocked", {}).update(secretcrm={"code_id": "c1"})
    )
    listed = {i["Id"]: i for i in await api.call("GET", "Integrations")}
    assert listed["secretcrm"]["Classification"] == "Controlled"
    assert [n["Version"] for n in listed["secretcrm"]["ReleaseNotes"]] == ["2.0", "1.0"]


async def test_an_unregistered_caller_is_refused(partnercrmd_client: Any) -> None:
    response = await partnercrmd_client.get("/api/v1/Integrations")
    assert response.status in (401, 403)
    assert (await response.json())["Message"]


class TestBranded:
    @pytest.fixture
    def partnercrmd_config(self, partnercrmd_config: DaemonConfig, tmp_path: Path) -> DaemonConfig:
        partnercrmd_config.branding = Branding(
            product_name="Acme Connect", shipped_integrations=("local", "secretcrm"), source=tmp_path / "b.toml"
        )
        return partnercrmd_config

    async def test_only_shipped_integrations_are_listed_and_the_product_is_renamed(self, api: ApiSession) -> None:
        assert await ids(api) == ["local"]
        version = await api.call("GET", "Version")
        assert version["ProductName"] == "Acme Connect"
        document = await api.call("GET", "openapi.json")
        assert document["info"]["title"] == "Acme Connect localhost API"


# --- the branding file ---------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_branding_file_is_read_with_its_key_and_licensing(tmp_path: Path) -> None:
    _, public = generate_private_key()
    write(tmp_path / "logo.png", "png")
    path = write(
        tmp_path / "branding.toml",
        f"""
[product]
name = "Acme Connect"
vendor = "Acme Telecom"
logo = "logo.png"
guide_url = "https://acme.test/guide"
[product.colours]
primary = "#004488"
[integrations]
shipped = ["local", "carddav"]
[keys]
public_key = "{public}"
[licensing]
provider = "http"
endpoint = "https://licences.acme.test/check"
grace_hours = 24
""",
    )
    branding = load_branding_file(path)
    assert branding.branded and branding.product_name == "Acme Connect" and branding.vendor == "Acme Telecom"
    assert branding.logo == (tmp_path / "logo.png").resolve()
    assert branding.colours == {"primary": "#004488"}
    assert branding.ships("carddav") and not branding.ships("ldap")
    assert branding.public_key is not None
    assert branding.licensing.provider == "http" and branding.licensing.grace_hours == 24


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[product]\nvendor = 'x'\n", "name is required"),
        ("[product]\nname = 'A'\n[licensing]\nprovider = 'magic'\n", "provider must be one of"),
        ("[product]\nname = 'A'\n[licensing]\nprovider = 'http'\n", "needs an http(s) endpoint"),
        ("[product]\nname = 'A'\n[keys]\npublic_key = 'short'\n", "32 bytes"),
        ("[product]\nname = 'A'\nlogo = 'missing.png'\n", "does not exist"),
        ("[product\nname = 'A'\n", "not valid TOML"),
    ],
)
def test_a_bad_branding_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BrandingError) as caught:
        load_branding_file(write(tmp_path / "branding.toml", text))
    assert message in caught.value.message


def test_branding_is_found_by_environment_then_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = Paths.under(tmp_path / "home")
    paths.ensure()
    monkeypatch.delenv(BRANDING_ENV, raising=False)
    assert not load_branding(paths).branded
    write(paths.config_dir / "branding.toml", "[product]\nname = 'Home Brand'\n")
    assert load_branding(paths).product_name == "Home Brand"
    monkeypatch.setenv(BRANDING_ENV, str(write(tmp_path / "env.toml", "[product]\nname = 'Env Brand'\n")))
    assert load_branding(paths).product_name == "Env Brand"


# --- partner signatures ---------------------------------------------------------------------------------


def test_signed_tokens_verify_only_unaltered_with_the_right_key_and_kind() -> None:
    pem, public = generate_private_key()
    key = load_private_key(pem)
    token = sign(key, "unlock", {"integrations": ["secretcrm"], "id": "c1"})
    assert verify(load_public_key(public), "unlock", token, what="code") == {"integrations": ["secretcrm"], "id": "c1"}
    assert verify(load_public_key(public), "unlock", token[:40] + "\n " + token[40:], what="code")["id"] == "c1"

    kind, body, signature = token.split(".")
    tampered = f"{kind}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"
    _, other_public = generate_private_key()
    cases = {
        tampered: "bad_signature",
        token.replace("unlock.", "licence.", 1): "malformed_token",
        "nonsense": "malformed_token",
    }
    for bad, code in cases.items():
        with pytest.raises(SignatureError) as caught:
            verify(load_public_key(public), "unlock", bad, what="code")
        assert caught.value.code == code
    with pytest.raises(SignatureError) as caught:
        verify(load_public_key(other_public), "unlock", token, what="unlock code")
    assert caught.value.code == "bad_signature" and "unlock code" in caught.value.message
    with pytest.raises(SignatureError) as caught:
        verify(None, "unlock", token, what="unlock code")
    assert caught.value.code == "no_partner_key"


def test_a_private_key_that_is_not_ed25519_pem_is_refused() -> None:
    with pytest.raises(SignatureError, match="PEM"):
        load_private_key("not a key")
