"""The partner decides which click-to-dial surfaces partnercrmd draws (branding `[surfaces]`), the user switches the
rest off (the Dialling page, `partnercrmd settings`), and pausing click-to-dial from the Dialling page.

The drawing itself with a surface on and off is tested where it is drawn: tests/test_offers_on_screen.py (offers,
events unchanged with the surface off), tests/test_tray.py (the tray), the capture box's and focus dialling's tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from partnercrmd import appkeys
from partnercrmd.branding import BrandingError, load_branding_file
from partnercrmd.config import DaemonConfig
from partnercrmd.dialling.service import DialSource
from partnercrmd.surfaces import Surface, daemon_draws
from partnercrmd.testing import ApiSession, next_event, run_cli
from partnercrmd.vault_sync import reload_vault
from tests.ui_support import Client, log_in, page_text, post_form

SWITCHES = {"draw_offers": "1", "draw_capture_box": "1", "draw_focus_dialling": "1", "draw_tray": "1"}
RULES = {"dial_format": "e164", "dial_outside_prefix": "", "dial_extension_lengths": "3,4"}


def branding_with(folder: Path, surfaces: str) -> Path:
    path = folder / "branding.toml"
    path.write_text(f'[product]\nname = "Acme Connect"\n[surfaces]\n{surfaces}', encoding="utf-8")
    return path


@pytest.fixture
def partnercrmd_config(partnercrmd_config: DaemonConfig, tmp_path: Path) -> DaemonConfig:
    """Acme's phone client draws the dial offers itself; partnercrmd draws the rest."""
    partnercrmd_config.branding = load_branding_file(branding_with(tmp_path, 'offers = "client"\ntray = "daemon"\n'))
    return partnercrmd_config


@pytest.mark.parametrize(
    ("surfaces", "message"),
    [
        ('popup = "client"\n', "no surface 'popup' (surfaces: offers, capture_box, focus_dialling, tray)"),
        ('tray = "partner"\n', 'tray must be "daemon" or "client"'),
        ("tray = true\n", 'tray must be "daemon" or "client"'),
    ],
)
def test_a_wrong_surfaces_table_is_refused_with_what_is_wrong(tmp_path: Path, surfaces: str, message: str) -> None:
    with pytest.raises(BrandingError) as refused:
        load_branding_file(branding_with(tmp_path, surfaces))
    assert message in refused.value.message


def test_without_a_surfaces_table_partnercrmd_draws_every_surface(partnercrmd_home: object) -> None:
    config = DaemonConfig(paths=partnercrmd_home)  # type: ignore[arg-type]
    assert all(daemon_draws(config, surface) for surface in Surface)


async def test_the_dialling_page_switches_the_surfaces_the_partner_left_to_partnercrmd(
    partnercrmd_client: Client,
) -> None:
    config = partnercrmd_client.app[appkeys.CONFIG]
    await log_in(partnercrmd_client, "dialling")
    page = await page_text(partnercrmd_client, "/ui/dialling")
    assert 'id="surface-draw_offers">Show numbers I copy or read as notifications with Dial buttons: shown by' in page
    assert 'name="draw_offers"' not in page  # the partner's client draws them: no switch
    for key in ("draw_capture_box", "draw_focus_dialling", "draw_tray"):
        assert f'role="switch" id="surface-{key}" name="{key}" value="1" checked>' in page

    fields = {**RULES, **SWITCHES, "draw_tray": "0", "draw_capture_box": "0"}
    saved = await post_form(partnercrmd_client, "/ui/dialling/settings", fields, page="/ui/dialling")
    assert saved.status == 303
    assert config.surfaces_off == {Surface.TRAY, Surface.CAPTURE_BOX}
    assert [daemon_draws(config, s) for s in Surface] == [False, False, True, False]
    page = await page_text(partnercrmd_client, "/ui/dialling")
    assert 'id="surface-draw_tray" name="draw_tray" value="1">' in page  # shown switched off

    assert run_cli(["settings", "set", "draw_tray=on", "draw_capture_box=on"]) == 0  # the same switches, by script
    await post_form(partnercrmd_client, "/ui/dialling/settings", {**RULES, **SWITCHES}, page="/ui/dialling")
    assert config.surfaces_off == frozenset()
    assert not daemon_draws(config, Surface.OFFERS)  # still the partner's client's


async def test_every_surface_off_and_the_events_go_out_as_before(api: ApiSession) -> None:
    config = api.client.app[appkeys.CONFIG]
    assert run_cli(["settings", "set", *(f"{key}=off" for key in SWITCHES)]) == 0
    await reload_vault(api.client.app)
    assert not any(daemon_draws(config, surface) for surface in Surface)
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        await next_event(ws, "Initial")
        # What the clipboard monitor, the hotkeys and ScreenRead hand over (no desktop here: see the offers' test).
        api.client.app[appkeys.DIAL].offer_text("Call 020 7946 0111", DialSource.CLIPBOARD)
        offer = await next_event(ws, "DialOffer")
        await api.call("POST", "Dial", Destination="020 7946 0958", Source="Api")
        call = await next_event(ws, "MakeCallRequest")
    assert [n["E164"] for n in offer["Numbers"]] == ["+442079460111"]
    assert call["E164"] == "+442079460958"


async def test_the_dialling_page_pauses_click_to_dial_for_an_hour_and_resumes_it(
    partnercrmd_client: Client, api: ApiSession
) -> None:
    await log_in(partnercrmd_client, "dialling")
    assert 'id="pause-state">Click-to-dial is on.' in await page_text(partnercrmd_client, "/ui/dialling")
    paused = await post_form(partnercrmd_client, "/ui/dialling/pause", {"action": "pause"}, page="/ui/dialling")
    assert paused.status == 303
    resumes = partnercrmd_client.app[appkeys.DIAL].paused_until
    assert resumes is not None
    page = await page_text(partnercrmd_client, "/ui/dialling")
    assert f'id="pause-state">Click-to-dial is paused until {resumes:%H:%M}.' in page
    refused = await api.request("POST", "Dial", Destination="020 7946 0958", Source="Api")
    assert refused.status == 409 and (await refused.json())["Code"] == "dialling_paused"

    await post_form(partnercrmd_client, "/ui/dialling/pause", {"action": "resume"}, page="/ui/dialling")
    assert partnercrmd_client.app[appkeys.DIAL].paused_until is None
    assert (await api.request("POST", "Dial", Destination="020 7946 0958", Source="Api")).status == 200
    wrong = await post_form(partnercrmd_client, "/ui/dialling/pause", {"action": "later"}, page="/ui/dialling")
    assert wrong.status == 400
