"""The CardDAV add-in against a real SOGo (Debian's package: sogod on PostgreSQL, with memcached).

One SOGo is started for the module (a PostgreSQL cluster with a SQL user source, memcached, sogod);
every test makes its own address book in the user's contacts folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from carddav_seed import CARDS
from carddav_suite import CardDavServerSuite, SuiteServer
from groupware_servers import SogoServer

from partnercrmd.testing import ApiSession, configure_book, names, search


@pytest.fixture(scope="module")
def sogo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SogoServer]:
    server = SogoServer(tmp_path_factory.mktemp("sogo")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def suite_server(sogo: SogoServer) -> SuiteServer:
    return SuiteServer(
        name="SOGo",
        url=sogo.url,
        username=SogoServer.USER,
        password=SogoServer.PASSWORD,
        raw=sogo.raw(),
        book_home=sogo.home,
        calendar_home=sogo.calendars,
        stop_serving=sogo.stop_web_server,
        serve_again=sogo.serve,
        journals=False,
    )


class TestSogo(CardDavServerSuite):
    """The behaviour suite against SOGo."""


async def test_the_sogo_preset_finds_the_users_personal_address_book(
    api: ApiSession, partnercrmd_app: web.Application, sogo: SogoServer
) -> None:
    # The preset's pattern is checked against the address SOGo itself gives the user's personal address book.
    personal = sogo.home + "personal/"
    raw = sogo.raw()
    assert f"<D:href>{personal}</D:href>" in raw.listing(sogo.home)
    for file_name, text in CARDS.items():
        raw.put_card(personal + file_name, text)
    book_id = await configure_book(
        partnercrmd_app, "carddav-sogo", host=sogo.url, username=SogoServer.USER, password=SogoServer.PASSWORD
    )
    assert names((await search(api, "020 7946 0958"))[book_id]) == ["Dana Whitfield"]
