"""Daemon-wide settings: checked when set, applied by the running daemon."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.app import create_app
from partnercrmd.cli import main
from partnercrmd.config import DaemonConfig
from partnercrmd.errors import ConfigError
from partnercrmd.paths import Paths
from partnercrmd.settings import change_settings
from partnercrmd.testing import AiohttpClient, ApiSession, configure_book
from partnercrmd.vault import Vault
from tests.fake_addins import FakeAddins


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("fakes", FakeAddins())]


async def test_search_deadline_set_while_running_applies_at_once(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    await configure_book(partnercrmd_app, "hanging")
    await asyncio.to_thread(change_settings, partnercrmd_app[appkeys.VAULT], {"search_deadline_ms": "200"})
    await asyncio.sleep(0.3)  # the vault watcher applies it
    collections = await api.call("POST", "Search", query="Alice")
    hanging = next(c for c in collections if c["AddinId"] == "hanging")
    assert hanging["ExceptionText"] == "No answer within 0.2 s."


async def test_region_setting_applies_at_start(partnercrmd_config: DaemonConfig, aiohttp_client: AiohttpClient) -> None:
    partnercrmd_config.paths.ensure()
    change_settings(Vault.open(partnercrmd_config.paths.config_dir), {"default_region": "fr"})
    partnercrmd_config.region = None
    app = create_app(partnercrmd_config)
    await aiohttp_client(app)
    assert app[appkeys.REGION] == "FR"


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("default_region=ZZ", "not a region code"),
        ("search_deadline_ms=5", "from 50 to 30000"),
        ("registration_wait_s=soon", "not a whole number"),
        ("colour=blue", "no setting 'colour'"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(
    pair: str, message: str, partnercrmd_home: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["settings", "set", "search_deadline_ms=900"]) == 0
    assert main(["settings", "set", pair]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("partnercrmd: ")
    main(["settings", "show"])
    assert "search_deadline_ms = 900" in capsys.readouterr().out


def test_change_settings_converts_values(partnercrmd_home: Paths) -> None:
    paths = partnercrmd_home
    paths.ensure()
    vault = Vault.open(paths.config_dir)
    assert change_settings(vault, {"default_region": "gb", "registration_wait_s": "30"}) == {
        "default_region": "GB",
        "registration_wait_s": 30,
    }
    with pytest.raises(ConfigError):
        change_settings(vault, {"default_region": ""})
