"""Dialling rules, the dial service and POST Dial: explicit clicks become MakeCallRequest for the PDC."""

from __future__ import annotations

from typing import Any

import pytest

from partnercrmd import appkeys
from partnercrmd.dialling.detect import find_numbers, parse_one
from partnercrmd.dialling.rules import DialFormat, DiallingRules, international_prefix
from partnercrmd.dialling.service import RATE_LIMIT, DialService, DialSource
from partnercrmd.errors import BadRequest, TooManyRequests
from partnercrmd.events import EventHub
from partnercrmd.testing import ApiSession, next_event


def one(text: str, region: str = "GB") -> Any:
    found = parse_one(text, region)
    assert found is not None, text
    return found


@pytest.mark.parametrize(
    ("rules", "text", "destination"),
    [
        (DiallingRules("GB"), "020 7946 0958", "+442079460958"),
        (DiallingRules("GB", DialFormat.NATIONAL), "+44 20 7946 0958", "02079460958"),
        (DiallingRules("GB", DialFormat.NATIONAL), "+1 212-736-5000", "0012127365000"),
        (DiallingRules("US", DialFormat.NATIONAL), "+44 20 7946 0958", "011442079460958"),
        (DiallingRules("US", DialFormat.NATIONAL), "(212) 736-5000", "2127365000"),
        (DiallingRules("GB", DialFormat.NATIONAL, outside_prefix="9"), "020 7946 0958", "902079460958"),
        (DiallingRules("GB", outside_prefix="9"), "020 7946 0958", "9+442079460958"),
    ],
)
def test_rules_shape_the_destination_and_keep_e164(rules: DiallingRules, text: str, destination: str) -> None:
    target = rules.apply(one(text, rules.region))
    assert target.destination == destination
    assert target.e164.startswith("+") and target.display


def test_internal_extensions_are_dialled_as_they_are() -> None:
    rules = DiallingRules("GB", DialFormat.NATIONAL, outside_prefix="9")
    assert rules.internal("2001") is not None and rules.internal("2001").destination == "2001"  # type: ignore[union-attr]
    assert rules.internal("20011") is None
    assert rules.internal("20 01") is not None


def test_international_prefix_by_region() -> None:
    assert (international_prefix("GB"), international_prefix("US"), international_prefix("AU")) == ("00", "011", "0011")


def test_extension_is_shown_but_not_dialled() -> None:
    target = DiallingRules("US").apply(one("tel:+1-212-736-5000;ext=42", "US"))
    assert (target.destination, target.display) == ("+12127365000", "(212) 736-5000 ext. 42")


def test_uris_and_text_are_found() -> None:
    found = find_numbers("Call tel:+442079460958 or callto:+12127365000, or 0161 496 0789.", "GB")
    assert [f.e164 for f in found] == ["+442079460958", "+12127365000", "+441614960789"]


def test_service_drops_duplicates_and_limits_each_client() -> None:
    now = [0.0]
    hub = EventHub()
    events = hub.subscribe("pdc")
    service = DialService(hub, lambda: DiallingRules("GB"), clock=lambda: now[0])
    service.request("020 7946 0958", DialSource.WEB_PAGE, "ext")
    service.request("+44 20 7946 0958", DialSource.WEB_PAGE, "ext")  # the same within 2 s: dropped
    assert events.queue.qsize() == 1
    now[0] = 3.0
    service.request("020 7946 0958", DialSource.WEB_PAGE, "ext")
    assert events.queue.qsize() == 2
    for n in range(RATE_LIMIT - 3):  # three sent above
        service.request(f"020 7946 {1000 + n}", DialSource.WEB_PAGE, "ext")
    with pytest.raises(TooManyRequests):
        service.request("020 7946 0999", DialSource.WEB_PAGE, "ext")
    service.request("020 7946 0999", DialSource.WEB_PAGE, "another client")
    with pytest.raises(BadRequest):
        service.request("call me maybe", DialSource.API, "third")


def test_offer_lists_the_numbers_found() -> None:
    hub = EventHub()
    events = hub.subscribe("pdc")
    service = DialService(hub, lambda: DiallingRules("GB"))
    service.offer_text("Sales 020 7946 0958, support +1 212 736 5000", DialSource.CLIPBOARD)
    offer = events.queue.get_nowait()
    assert offer is not None and offer["EventType"] == "DialOffer" and offer["Source"] == "Clipboard"
    assert [n["E164"] for n in offer["Numbers"]] == ["+442079460958", "+12127365000"]
    assert service.offer_text("no numbers here", DialSource.CLIPBOARD) == []
    assert events.queue.empty()


def test_an_offer_another_surface_shows_reaches_the_events_but_not_the_on_screen_offers() -> None:
    hub = EventHub()
    events = hub.subscribe("pdc")
    service = DialService(hub, lambda: DiallingRules("GB"))
    drawn: list[tuple[list[str], DialSource]] = []
    service.on_offer.append(lambda targets, source: drawn.append(([t.destination for t in targets], source)))
    service.offer_text("020 7946 0958", DialSource.SCREEN_READ, on_screen=True)  # the capture box lists it
    offer = events.queue.get_nowait()
    assert offer is not None and offer["EventType"] == "DialOffer" and offer["Source"] == "ScreenRead"
    assert drawn == []
    service.offer_text("0161 496 0789", DialSource.CLIPBOARD)
    assert drawn == [(["+441614960789"], DialSource.CLIPBOARD)]


async def test_dial_route_sends_make_call_request(api: ApiSession) -> None:
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        answer = await api.call("POST", "Dial", Destination="tel:+44-20-7946-0958", Source="Tel")
        event = await next_event(ws, "MakeCallRequest")
    assert answer == {"Destination": "+442079460958", "E164": "+442079460958", "DisplayNumber": "020 7946 0958"}
    assert event == {"EventType": "MakeCallRequest", "Source": "Tel", **answer}


async def test_dial_route_bad_input(api: ApiSession) -> None:
    for fields in ({}, {"Destination": "no number"}, {"Destination": "020 7946 0958", "Source": "Fax"}):
        response = await api.request("POST", "Dial", **fields)
        assert response.status == 400, fields
        assert (await response.json())["Message"]


async def test_dial_settings_apply_at_runtime(api: ApiSession) -> None:
    config = api.client.app[appkeys.CONFIG]
    config.dial_format, config.dial_outside_prefix = "national", "9"
    answer = await api.call("POST", "Dial", Destination="+44 20 7946 0958")
    assert answer["Destination"] == "902079460958"


async def test_install_token_is_accepted_instead_of_an_application(api: ApiSession) -> None:
    token = api.client.app[appkeys.INSTALL_TOKEN].value
    response = await api.client.post(
        "/api/v1/Dial", data={"Destination": "020 7946 0958"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 200
    wrong = await api.client.post(
        "/api/v1/Dial", data={"Destination": "020 7946 0958"}, headers={"Authorization": "Bearer wrong"}
    )
    assert wrong.status == 401
