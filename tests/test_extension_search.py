"""Internal extensions (a PBX shows "4711" for an internal caller) are searched as themselves, through the API.

The test daemon reads national numbers in GB and has the default `dial_extension_lengths` (3, 4). Before, "4711"
was read as +44 4711, so the local book looked for the wrong digits and the contact with extension 4711 was
not found.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.testing import ApiSession


async def create(api: ApiSession, first: str, phone: str) -> str:
    created = await api.call("POST", "CreateNewRecord", RecordTypeId="local/Contact", FirstName=first, Phone=phone)
    unique_id: str = created["UniqueId"]
    return unique_id


async def found(api: ApiSession, query: str) -> list[str]:
    collections: list[dict[str, Any]] = await api.call("POST", "Search", query=query)
    return [record["UniqueId"] for book in collections for record in book["Records"]]


async def test_an_extension_finds_the_contact_with_that_extension_only(api: ApiSession) -> None:
    extension = await create(api, "Desk", "4711")
    await create(api, "London", "+442079464711")  # ends in 4711: must not be found by the extension
    assert await found(api, "4711") == [extension]
    assert await found(api, " 4711 ") == [extension]


async def test_full_numbers_are_searched_as_before(api: ApiSession) -> None:
    extension = await create(api, "Desk", "4711")
    london = await create(api, "London", "+44 20 7946 4711")
    for query in ("+442079464711", "020 7946 4711", "0044 20 7946 4711"):
        assert await found(api, query) == [london], query
    assert extension not in await found(api, "02079464711")


async def test_a_length_not_among_the_extension_lengths_is_read_as_a_number(api: ApiSession) -> None:
    # Six digits are no extension by the default settings (3, 4): read in GB as before (+44 471100).
    national = await create(api, "Short", "+44 471100")
    assert await found(api, "471100") == [national]


async def test_the_extension_lengths_are_the_dialling_settings_as_they_stand_now(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    extension = await create(api, "Desk", "47110")
    config = partnercrmd_app[appkeys.CONFIG]
    assert await found(api, "47110") == []  # five digits: no extension by default, read as +44 47110
    config.dial_extension_lengths = (4, 5)  # what saving the Dialling page (or `settings set`) does at runtime
    assert await found(api, "47110") == [extension]
