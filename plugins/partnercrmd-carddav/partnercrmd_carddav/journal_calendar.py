"""A CalDAV calendar collection on the same server that keeps call activities as VJOURNALs (RFC 4791)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urljoin

from partnercrmd.sdk import Activity, AddinError

from . import activities, dav_xml
from .addressbook import PreconditionFailed
from .client import DavClient, described, display_url, failure, multistatus, nothing_at

ICALENDAR = "text/calendar; charset=utf-8"


@dataclass(frozen=True)
class CalendarInfo:
    """What `PROPFIND` says about the calendar: is it one, does it take journals, may the user write to it."""

    is_calendar: bool
    takes_journals: bool
    privileges: set[str] | None


def refuses_journals(url: str) -> AddinError:
    """`invalid_data`: the calendar at `url` says it does not take journal entries."""
    return AddinError(
        f"The calendar {display_url(url)} does not take journal entries (VJOURNAL): create one that does, "
        "or log calls as 'note'.",
        code="invalid_data",
    )


class JournalCalendar:
    def __init__(self, client: DavClient, url: str) -> None:
        self.client = client
        self.url = url if url.endswith("/") else url + "/"

    async def add(self, journal: activities.Journal) -> None:
        """Store a new journal entry as `<uid>.ics`."""
        reply = await self.client.request(
            "PUT",
            urljoin(self.url, quote(journal.uid) + ".ics"),
            body=journal.text.encode("utf-8"),
            content_type=ICALENDAR,
            headers={"If-None-Match": "*"},
        )
        if reply.status == 412:
            raise PreconditionFailed(journal.uid)
        if not reply.ok:
            # A calendar that takes no journals answers in its own way (SOGo: 404 for the new entry's address);
            # what it says of itself tells the user what to change.
            if reply.status < 500 and not (await self.info()).takes_journals:
                raise refuses_journals(self.url)
            raise failure(reply, "saving the call in the calendar")

    async def entries_of(self, contact_id: str) -> list[Activity]:
        """The calls logged for a contact (the server filters; the add-in checks again, servers differ)."""
        body = dav_xml.journal_query(activities.CONTACT_PROPERTY, contact_id)
        reply = await self.client.request("REPORT", self.url, body=body, depth="1")
        found = []
        for response in multistatus(reply, "reading the calls in the calendar").responses:
            text = response.text(dav_xml.CALENDAR_DATA)
            if not text or activities.journal_contact(text) != contact_id:
                continue
            activity = activities.parse_journal(text)
            if activity is not None:
                found.append(activity)
        return found

    async def info(self) -> CalendarInfo:
        props = (dav_xml.RESOURCETYPE, dav_xml.SUPPORTED_COMPONENTS, dav_xml.CURRENT_USER_PRIVILEGE_SET)
        reply = await self.client.request("PROPFIND", self.url, body=dav_xml.propfind(props), depth="0")
        response = described(reply, "reading the calendar")
        if response is None:
            raise nothing_at(self.url, "reading the calendar")
        components = response.props.get(dav_xml.SUPPORTED_COMPONENTS)
        if components is None:
            takes_journals = True  # not said: RFC 4791 means "any component"
        else:
            names = {(comp.get("name") or "").upper() for comp in components}
            takes_journals = "VJOURNAL" in names
        privileges = response.privileges() if dav_xml.CURRENT_USER_PRIVILEGE_SET in response.props else None
        return CalendarInfo(dav_xml.CALENDAR in response.child_tags(dav_xml.RESOURCETYPE), takes_journals, privileges)
