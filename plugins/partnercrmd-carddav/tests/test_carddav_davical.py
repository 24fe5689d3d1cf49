"""The CardDAV add-in against a real DAViCal (Debian's package on PostgreSQL, served by `php -S`).

One DAViCal is started for the module (about 5 s: a PostgreSQL cluster, the package's
create-database script, a user made through DAViCal's administration pages); every test
makes its own address book under the user's home collection.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from carddav_seed import CARDS
from carddav_suite import CardDavServerSuite, SuiteServer
from groupware_servers import DavicalServer

from partnercrmd.testing import ApiSession, configure_book, names, search


@pytest.fixture(scope="module")
def davical(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavicalServer]:
    server = DavicalServer(tmp_path_factory.mktemp("davical")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def suite_server(davical: DavicalServer) -> SuiteServer:
    return SuiteServer(
        name="DAViCal",
        url=davical.url,
        username=DavicalServer.USER,
        password=DavicalServer.PASSWORD,
        raw=davical.raw(),
        book_home=davical.home,
        calendar_home=davical.home,
        stop_serving=davical.stop_web_server,
        serve_again=davical.serve,
    )


class TestDavical(CardDavServerSuite):
    """The behaviour suite against DAViCal."""


async def test_the_davical_preset_finds_the_users_own_address_book(
    api: ApiSession, partnercrmd_app: web.Application, davical: DavicalServer
) -> None:
    # The preset's pattern is checked against the address DAViCal itself gave the user's home address book.
    home_book = davical.home + "addresses/"
    listing = davical.raw().listing(davical.home)
    assert f"<href>{home_book}</href>" in listing
    raw = davical.raw()
    for file_name, text in CARDS.items():
        raw.put_card(home_book + file_name, text)
    book_id = await configure_book(
        partnercrmd_app, "carddav-davical", host=davical.url, username=DavicalServer.USER, password=davical.PASSWORD
    )
    assert names((await search(api, "020 7946 0958"))[book_id]) == ["Dana Whitfield"]
