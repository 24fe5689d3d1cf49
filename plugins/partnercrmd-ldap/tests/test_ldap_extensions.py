"""Internal extensions in a directory (Active Directory's `ipPhone: 4711`) are found by the extension, against a
real slapd through the daemon's HTTP API.

A PBX shows "4711" for an internal caller. Before, the host read it as a national number (+44 4711 in the test
daemon's region GB) and the add-in looked for the digits 444711, so the person was not found.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ldap_test_support import open_connector, running_slapd, settings
from slapd_server import PEOPLE, SEED, Slapd, entry

from partnercrmd.testing import ApiSession, configure_book, contact_names, names, number_query, search

EXTENSIONS = (
    entry(
        f"cn=Reception Desk,{PEOPLE}",
        objectClass=["inetOrgPerson", "adPhones"],
        cn="Reception Desk",
        sn="Desk",
        ipPhone="4711",
    )
    + "\n"
    + entry(
        f"cn=London Office,{PEOPLE}",
        objectClass="inetOrgPerson",
        cn="London Office",
        sn="Office",
        telephoneNumber="+44 20 7946 4711",
    )
    + "\n"
    + entry(
        f"cn=Berlin Office,{PEOPLE}",
        objectClass=["inetOrgPerson", "adPhones"],
        cn="Berlin Office",
        sn="Office",
        ipPhone="+49 4711",
    )
)
"""A person whose only number is the extension 4711, one whose full number ends in 4711, and one whose number
abroad has the national number 4711 (+49 4711: not the extension either)."""


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with running_slapd(tmp_path_factory.mktemp("slapd"), SEED + "\n" + EXTENSIONS) as server:
        yield server


async def add_book(app: web.Application, slapd: Slapd, **overrides: Any) -> str:
    """An OpenLDAP book that also reads ipPhone (as the Active Directory preset does) for other numbers."""
    return await configure_book(app, "ldap", **settings(slapd, attr_other_phone="ipPhone", **overrides))


async def test_a_person_with_ip_phone_4711_is_found_by_4711(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    assert names((await search(api, "4711"))[book_id]) == ["Reception Desk"]


async def test_the_full_number_ending_in_4711_finds_only_its_owner(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await add_book(partnercrmd_app, slapd)
    assert names((await search(api, "+442079464711"))[book_id]) == ["London Office"]
    assert names((await search(api, "020 7946 4711"))[book_id]) == ["London Office"]


def test_the_add_in_gets_the_extension_and_finds_only_its_holder(slapd: Slapd, tmp_path: Path) -> None:
    # The add-in gets the extension as its digits (before: +444711, so it looked for 4*4*4*7*1*1) and finds
    # the entry holding it, from its filled index, and neither +44 20 7946 4711 nor +49 4711.
    with open_connector(slapd, tmp_path, attr_other_phone="ipPhone") as connector:
        assert connector.index is not None
        connector.index.refresh(connector.index_fill)
        query = number_query("4711")
        assert (query.number, query.number_forms) == ("4711", ("4711",))
        assert contact_names(connector.search(query)) == ["Reception Desk"]
