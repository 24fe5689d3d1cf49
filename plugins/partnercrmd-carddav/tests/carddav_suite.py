"""The behaviour suite every real CardDAV server runs (xandikos, DAViCal, …): one list of tests, many servers.

A server's test module defines a module-scoped fixture `suite_server` (a `SuiteServer`:
the running server, a user on it, where that user's address books and calendars are
made, and how to stop and restart its web front) and a class deriving from
`CardDavServerSuite`. Every test goes through the daemon's HTTP API (or, for Test
connection, the connector a book is opened as), and reads what the add-in wrote back
from the server itself with `RawDav`, never through the add-in.

What the suite covers, as issue #22 asks of each real-server add-in: numbers in four or
more formats, names, the pop URL, a logged call read back through the server, a created
contact found, wrong credentials giving `invalid_auth`, the server stopped mid-test
giving ExceptionText, and Test connection with its fixes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from carddav_seed import CARDS, seed_book
from carddav_servers import RawDav
from partnercrmd_carddav.connector import open_book

from partnercrmd.sdk import Activity, AddinError, BookContext, CallDirection, SearchQuery
from partnercrmd.testing import ApiSession, RecordingOpener, action, configure_book, names, search

CALL = {
    "Direction": "Inbound",
    "CallerNumber": "0161 496 0789",
    "CalledNumber": "201",
    "StartTimeUtc": "2026-11-25T16:30:00Z",
    "DurationSeconds": "42",
    "Notes": "Called back about the invoice",
}


@dataclass
class SuiteServer:
    """One running server as the suite sees it."""

    name: str
    """As messages name it ("DAViCal")."""
    url: str
    """The server's base address (scheme, host, port), without a path."""
    username: str
    password: str
    raw: RawDav
    """That user's plain DAV client, for seeding and reading back."""
    book_home: str
    """The collection under which the user may make address books ("/caldav.php/erin/")."""
    calendar_home: str
    """The collection under which the user may make calendars."""
    stop_serving: Callable[[], None]
    """Stop the server's web front (the server "goes away")."""
    serve_again: Callable[[], object]
    """Start it again on the same port with the same data, for the tests after."""
    settings: dict[str, Any] = field(default_factory=dict)
    """More settings every book on it needs (a `ca_file`)."""
    journals: bool = True
    """Whether its calendars take journal entries (VJOURNAL); SOGo's take events and tasks only."""

    def new_book(self) -> str:
        """A new address book of the user's holding Dana, Eamon and Zoë; its path."""
        return seed_book(self.raw, f"{self.book_home}{uuid.uuid4().hex}/")

    def book_settings(self, path: str, **more: Any) -> dict[str, Any]:
        """A `carddav` book's settings for the address book at `path`, as a user would enter them."""
        return {"url": self.url + path, "username": self.username, "password": self.password, **self.settings, **more}

    def display_name(self, path: str) -> str:
        """The name the server gives the collection at `path` (SOGo keeps none given at creation: its id)."""
        body = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><displayname/></prop></propfind>'
        reply = self.raw.request("PROPFIND", path, body, {"Depth": "0", "Content-Type": "application/xml"})
        assert reply.status == 207, reply
        return reply.body.split("displayname>", 2)[1].rsplit("</", 1)[0]

    def created_card(self, path: str) -> str:
        """The file name of the one card in the address book that the seed did not put there."""
        listing = self.raw.listing(path)
        found = {part.split("<", 1)[0] for part in listing.split(path)[1:]} - {"", *CARDS}
        [name] = found
        return name


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {f["DescriptorId"]: f["Value"] for f in record["Fields"]}


def unfolded(text: str) -> str:
    """A vCard or iCalendar text with its folded lines joined and plain newlines."""
    return text.replace("\r\n", "\n").replace("\n ", "")


class CardDavServerSuite:
    """The tests; a server's module derives a `Test…` class from this one and gives the `suite_server` fixture."""

    @pytest.fixture
    def book(self, suite_server: SuiteServer) -> str:
        return suite_server.new_book()

    async def test_numbers_in_any_format_and_names_are_found(
        self, api: ApiSession, partnercrmd_app: web.Application, suite_server: SuiteServer, book: str
    ) -> None:
        book_id = await configure_book(partnercrmd_app, "carddav", **suite_server.book_settings(book))
        for query in ("+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958", "+442079460958"):
            assert names((await search(api, query))[book_id]) == ["Dana Whitfield"], query
        assert names((await search(api, "+44 161 496 0789"))[book_id]) == ["Eamon O'Neill"]  # a 4.0 tel: URI
        assert names((await search(api, "+33142685300"))[book_id]) == ["Zoë Lefèvre"]  # stored as 0033 …
        assert names((await search(api, "07700900123"))[book_id]) == ["Dana Whitfield"]  # her mobile
        stranger = (await search(api, "+44 20 7946 0999"))[book_id]
        assert (stranger["Records"], stranger["ExceptionText"]) == ([], "")
        assert names((await search(api, "northwind"))[book_id]) == ["Dana Whitfield", "Eamon O'Neill"]
        assert names((await search(api, "dana NORTHWIND"))[book_id]) == ["Dana Whitfield"]
        assert names((await search(api, "société zoe"))[book_id]) == ["Zoë Lefèvre"]
        [dana] = (await search(api, "Whitfield", includePictures="true"))[book_id]["Records"]
        shown = fields(dana)
        assert (shown["BusinessPhone"], shown["MobilePhone"]) == ("(020) 7946-0958", "07700 900123")
        assert shown["Picture"].startswith("data:image/png;base64,iVBORw0KGgo")

    async def test_open_pops_the_record_page_or_the_servers_web_page(
        self,
        api: ApiSession,
        partnercrmd_app: web.Application,
        partnercrmd_opener: RecordingOpener,
        suite_server: SuiteServer,
        book: str,
    ) -> None:
        plain = await configure_book(partnercrmd_app, "carddav", name="Plain", **suite_server.book_settings(book))
        template = "https://contacts.example.com/view/{uid}"
        linked = await configure_book(
            partnercrmd_app, "carddav", name="Linked", **suite_server.book_settings(book, web_url_template=template)
        )
        found = await search(api, "0161 496 0789")
        [eamon] = found[plain]["Records"]
        await api.call("POST", "DoAction", actionId=action(eamon, "Open"))
        await api.call("POST", "DoAction", actionId=action(found[linked]["Records"][0], "Open"))
        own_page, server_page = partnercrmd_opener.urls
        assert server_page == "https://contacts.example.com/view/urn%3Auuid%3A7f0c4d3e-eamon"
        prefix = f"http://127.0.0.1:{api.client.port}"
        assert own_page.startswith(prefix + "/records/")
        page = await api.client.get(own_page.removeprefix(prefix))
        assert page.status == 200 and "Eamon O&#x27;Neill" in (await page.text()).replace("&#39;", "&#x27;")

    async def test_a_logged_call_is_read_back_from_the_server(
        self, api: ApiSession, partnercrmd_app: web.Application, suite_server: SuiteServer, book: str
    ) -> None:
        book_id = await configure_book(partnercrmd_app, "carddav", **suite_server.book_settings(book))
        [eamon] = (await search(api, "0161 496 0789"))[book_id]["Records"]
        await api.call("POST", "DoAction", actionId=action(eamon, "LogActivity"), **CALL)
        stored = unfolded(suite_server.raw.get(book + "eamon.vcf").body)
        assert "[Call 2026-11-25 16:30:00 UTC\\, inbound\\, 0:42] Incoming call: 0161 496 0789 -> 201" in stored
        assert "— Called back about the invoice" in stored and ":tel:+44-161-496-0789" in stored  # the rest kept
        [record] = (await search(api, "Eamon", includeActivities="true"))[book_id]["Records"]
        [activity] = record["Activities"]
        assert (activity["Subject"], activity["Body"]) == (
            "Incoming call: 0161 496 0789 -> 201",
            "Called back about the invoice",
        )
        assert (activity["Direction"], activity["StartTimeUtc"], activity["DurationSeconds"]) == (
            "Inbound",
            "2026-11-25T16:30:00Z",
            42,
        )

    async def test_calls_as_journal_entries_in_a_calendar_on_the_server(
        self, suite_server: SuiteServer, book: str, tmp_path: Path
    ) -> None:
        calendar = f"{suite_server.calendar_home}{uuid.uuid4().hex}/"
        suite_server.raw.make_calendar(calendar, "Calls")
        settings = suite_server.book_settings(book, activity_mode="journal", calendar_url=suite_server.url + calendar)
        connector = open_book(BookContext("j", "Journal", settings, tmp_path, "GB"))
        call = Activity(
            "Outgoing call: 201 -> 020 7946 0958",
            "Quote sent",
            CallDirection.OUTBOUND,
            datetime(2026, 11, 25, 17, 0, tzinfo=UTC),
            300,
        )
        try:
            [dana] = await connector.search(SearchQuery("whitfield", limit=5))
            if not suite_server.journals:
                # The server's calendars take no journals: Test connection and logging a call both say so.
                refused = (
                    f"The calendar {suite_server.url}{calendar} does not take journal entries (VJOURNAL): "
                    "create one that does, or log calls as 'note'."
                )
                write = (await connector.test())[-1]
                assert (write.check, write.ok, write.error_key, write.message) == (
                    "write",
                    False,
                    "invalid_data",
                    refused,
                )
                with pytest.raises(AddinError) as raised:
                    await connector.log_activity(dana.id, call)
                assert (raised.value.code, raised.value.message) == ("invalid_data", refused)
                return
            logged = await connector.log_activity(dana.id, call)
            entry = unfolded(suite_server.raw.get(f"{calendar}{logged}.ics").body)
            assert "BEGIN:VJOURNAL" in entry and "X-PARTNERCRMD-CONTACT:dana-whitfield.vcf" in entry
            assert "DESCRIPTION:Quote sent" in entry and "DTSTART:20261125T170000Z" in entry
            [activity] = await connector.activities(dana.id, 10)
            assert (activity.subject, activity.duration_seconds) == (
                "Outgoing call: 201 -> 020 7946 0958 (Dana Whitfield)",
                300,
            )
            assert "NOTE" not in suite_server.raw.get(book + "dana-whitfield.vcf").body.split("PHOTO")[1]
        finally:
            await connector.close()

    async def test_a_created_contact_is_on_the_server_and_found(
        self, api: ApiSession, partnercrmd_app: web.Application, suite_server: SuiteServer, book: str
    ) -> None:
        book_id = await configure_book(partnercrmd_app, "carddav", **suite_server.book_settings(book))
        created = await api.call(
            "POST",
            "CreateNewRecord",
            RecordTypeId=f"{book_id}/Contact",
            FirstName="Grace",
            LastName="Hopper",
            Phone="+1 212 555 0199",
            Email="grace@navy.example",
        )
        assert created["DisplayText"] == "Grace Hopper"
        name = suite_server.created_card(book)
        stored = unfolded(suite_server.raw.get(book + name).body)
        assert "FN:Grace Hopper" in stored and "TEL;TYPE=WORK,VOICE:+1 212 555 0199" in stored
        assert names((await search(api, "(212) 555-0199"))[book_id]) == ["Grace Hopper"]
        assert names((await search(api, "hopper"))[book_id]) == ["Grace Hopper"]

        saved = await api.call("POST", "SaveRecord", RecordId=created["UniqueId"], CompanyName="US Navy")
        assert fields(saved)["CompanyName"] == "US Navy"
        assert "ORG:US Navy" in suite_server.raw.get(book + name).body

    async def test_wrong_credentials_give_invalid_auth_and_never_show_the_password(
        self, api: ApiSession, partnercrmd_app: web.Application, suite_server: SuiteServer, book: str, tmp_path: Path
    ) -> None:
        wrong = "not-the-password-42"
        settings = suite_server.book_settings(book, password=wrong)
        book_id = await configure_book(partnercrmd_app, "carddav", **settings)
        for query in ("+44 20 7946 0958", "Dana"):
            found = (await search(api, query))[book_id]
            assert found["Records"] == []
            assert (
                f"refused the user name '{suite_server.username}' or its password (HTTP 401)"
                in (found["ExceptionText"])
            )
            assert wrong not in found["ExceptionText"]
        connector = open_book(BookContext("w", "Wrong", settings, tmp_path, "GB"))
        try:
            results = await connector.test()
        finally:
            await connector.close()
        assert [(r.check, r.ok, r.error_key) for r in results] == [
            ("reach", True, None),
            ("authenticate", False, "invalid_auth"),
        ]
        assert "check both settings" in results[-1].message and wrong not in results[-1].message

    async def test_a_server_stopped_mid_test_is_reported_in_the_books_slot(
        self, api: ApiSession, partnercrmd_app: web.Application, suite_server: SuiteServer, book: str
    ) -> None:
        book_id = await configure_book(partnercrmd_app, "carddav", **suite_server.book_settings(book))
        assert names((await search(api, "+44 20 7946 0958"))[book_id]) == ["Dana Whitfield"]
        suite_server.stop_serving()
        try:
            for query in ("+44 20 7946 0958", "+44 20 7946 0999", "Dana"):
                started = time.monotonic()
                found = (await search(api, query, timeoutMs=1500))[book_id]
                assert time.monotonic() - started < 3
                assert found["Records"] == []
                text = found["ExceptionText"]
                assert text.startswith(f"The CardDAV server at {suite_server.url} cannot be reached ("), text
                assert text.endswith("); check the setting 'url' and that the server is running."), text
        finally:
            suite_server.serve_again()
        assert names((await search(api, "+44 20 7946 0958"))[book_id]) == ["Dana Whitfield"]

    async def test_test_connection_passes_and_says_what_to_fix(
        self, suite_server: SuiteServer, book: str, tmp_path: Path
    ) -> None:
        async def checks(settings: dict[str, Any]) -> list[tuple[str, bool, str | None, str]]:
            connector = open_book(BookContext(uuid.uuid4().hex[:8], "Test", settings, tmp_path, "GB"))
            try:
                return [(r.check, r.ok, r.error_key, r.message) for r in await connector.test()]
            finally:
                await connector.close()

        passed = await checks(suite_server.book_settings(book))
        assert [(check, ok) for check, ok, _, _ in passed] == [
            ("reach", True),
            ("authenticate", True),
            ("addressbook", True),
            ("search", True),
            ("write", True),
        ], passed
        assert passed[3][3].startswith("3 contacts with 5 phone numbers indexed"), passed[3]

        # Found by its name from the user's home collection (discovery), and a wrong name says which there are.
        name = suite_server.display_name(book)
        by_name = await checks(suite_server.book_settings(suite_server.book_home, addressbook=name))
        assert by_name[2][:3] == ("addressbook", True, None) and by_name[2][3].startswith(
            f"Using the address book {name!r} at {suite_server.url}{book}"
        ), by_name
        *_, (check, ok, key, message) = await checks(
            suite_server.book_settings(suite_server.book_home, addressbook="Not there")
        )
        assert (check, ok, key) == ("addressbook", False, "not_found"), message
        assert message.startswith("No address book named 'Not there' on ") and f"'{name}'" in message, message
        assert message.endswith("check the setting 'addressbook'."), message

        missing = book.rstrip("/") + "-gone/"
        *_, (check, ok, key, message) = await checks(suite_server.book_settings(missing))
        assert (check, ok, key) == ("addressbook", False, "not_found"), message
        assert message.endswith("give the address book's own address in 'url', or its path in 'addressbook'."), message

        calendar = suite_server.url + f"{suite_server.calendar_home}{uuid.uuid4().hex}/"
        *_, (check, ok, key, message) = await checks(
            suite_server.book_settings(book, activity_mode="journal", calendar_url=calendar)
        )
        assert (check, ok, key) == ("write", False, "not_found"), message
        assert message.endswith(
            "Create a calendar for journal entries (tasks and journals) on the server, or correct 'calendar_url'."
        ), message
