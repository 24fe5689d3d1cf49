"""An add-in's number index kept fresh from its backend: Test connection's search step (`RefreshedPhoneIndex.check`)
says what the user should know in each case, from a real index file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from partnercrmd.sdk import AddinError, FetchEntries, PhoneEntries, RefreshedPhoneIndex


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RefreshedPhoneIndex]:
    yield RefreshedPhoneIndex(tmp_path / "numbers.sqlite3", "GB", 15 * 60.0, name="Refreshing the test index")


def entries(*pairs: tuple[str, list[str]]) -> FetchEntries:
    async def fetch() -> PhoneEntries:
        return list(pairs)

    return fetch


async def test_a_refresh_that_finds_a_contact_by_a_number_it_read_passes(index: RefreshedPhoneIndex) -> None:
    fetch = entries(("7", []), ("8", ["020 7946 0958", "07700 900123"]), ("9", ["+1 212 736 5000"]))
    result = await index.check(fetch, record="user", records="RT users")
    assert result.ok
    assert result.message == (
        "3 phone numbers of RT users indexed (refreshed every 15 min); 020 7946 0958 finds its user."
    )
    assert await index.lookup("+442079460958") == ["8"]  # the check filled the index for the searches after it
    await index.close()


async def test_a_backend_whose_contacts_have_no_number_passes_and_says_so(index: RefreshedPhoneIndex) -> None:
    result = await index.check(entries(("1", [])), record="contact", records="BottleCRM contacts")
    assert result.ok
    assert result.message == "No contact has a phone number yet; the number index is refreshed every 15 min."
    await index.close()


async def test_a_number_the_index_cannot_find_fails_with_what_to_do(index: RefreshedPhoneIndex) -> None:
    result = await index.check(entries(("1", ["call me"])), record="contact", records="contacts")
    assert (result.ok, result.error_key) == (False, "invalid_data")
    assert "does not find call me" in result.message and "delete the book's data folder" in result.message
    await index.close()


async def test_a_backend_that_fails_fails_the_step_with_its_own_words(index: RefreshedPhoneIndex) -> None:
    async def fetch() -> PhoneEntries:
        raise AddinError("The server at https://crm.example answered 401: sign in again.", code="invalid_auth")

    result = await index.check(fetch, record="contact", records="contacts")
    assert (result.ok, result.error_key, result.check) == (False, "invalid_auth", "search")
    assert result.message == "The server at https://crm.example answered 401: sign in again."
    await index.close()


async def test_remember_many_records_contacts_read_during_a_refresh_after_it(tmp_path: Path) -> None:
    """Contacts the add-in read while a refresh listed the backend are stored again after the refresh stored its
    older listing, as single writes are."""
    index = RefreshedPhoneIndex(tmp_path / "numbers.sqlite3", "GB", 15 * 60.0, name="Refreshing the test index")
    listing, written = asyncio.Event(), asyncio.Event()

    async def slow_listing() -> PhoneEntries:
        listing.set()
        await written.wait()
        return [("alice", ["+44 20 7946 0958"]), ("bob", ["+44 20 7946 0001"])]  # read before the change below

    refresh = asyncio.create_task(index.refresh(slow_listing))
    await listing.wait()
    await index.remember_many([("alice", ["+44 20 7946 0999"]), ("bob", [])])
    assert await index.lookup("+44 20 7946 0999") == ["alice"]  # stored at once
    written.set()
    await refresh
    assert await index.lookup("+44 20 7946 0999") == ["alice"]  # and again after the older listing
    assert await index.lookup("+44 20 7946 0958") == []
    assert await index.lookup("+44 20 7946 0001") == []
    await index.close()
