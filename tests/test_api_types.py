"""The published client's types, where partnercrmd differed (issue #20 item 6): Licenses' Value a number,
AddressBooks' Type complete, and every telephony route of that API answered `telephony_not_served`."""

from __future__ import annotations

import pytest

from partnercrmd.testing import ApiSession

from .test_api import assert_matches, error_of, openapi

PHONE_ROUTES = (
    "TransferComplete", "TransferConsult", "TransferCancel", "TransferBlind", "Deflect", "Pickup", "HookState",
    "OwnerContact", "RecordSuspend", "RecordResume", "Unload", "SearchPeers",
)  # fmt: skip


async def test_version_licences_carry_a_number(api: ApiSession) -> None:
    version = await api.call("GET", "Version")
    assert_matches(await openapi(api.client), "Version", version)
    assert [(e["Key"], e["Value"]) for e in version["Licenses"]] == [("mode", 0), ("source", 0)]  # development
    assert all(isinstance(e["Description"], str) and e["Description"] for e in version["Licenses"])


async def test_address_book_type_has_every_field_of_the_client_type(api: ApiSession) -> None:
    (book,) = await api.call("GET", "AddressBooks")
    assert_matches(await openapi(api.client), "AddressBook", [book], array=True)
    kind = book["Type"]
    assert kind["AssemblyLocation"] == "partnercrmd"  # the distribution the integration comes from
    assert (kind["IsLegacy"], kind["IsUnrecognized"], kind["IsCloudContacts"]) == (False, False, False)
    legacy = [name for name in kind if name.startswith("Legacy")]
    assert sorted(legacy) == [
        "LegacyActionFeature", "LegacyActivityFeatureCreate", "LegacyActivityFeatureShow",
        "LegacyCursorFeature", "LegacySearchFeature",
    ]  # fmt: skip
    assert not any(kind[name] for name in legacy)


@pytest.mark.parametrize("route", PHONE_ROUTES)
async def test_telephony_routes_of_the_client_are_answered_clearly(api: ApiSession, route: str) -> None:
    for method in ("POST", "GET"):
        body = await error_of(await api.request(method, route, callId="c-1"), 404)
        assert body["Code"] == "telephony_not_served", (method, route)
        assert "phone client" in body["Message"]
