"""The local address book add-in, registered through the `partnercrmd.addins` entry point like any other."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .. import __version__, hookimpl
from ..errors import AddinError
from ..integration import (
    BlockingConnector,
    BookContext,
    CallEvent,
    CallState,
    Capability,
    ConfigField,
    Connector,
    FieldKind,
    Integration,
    ReleaseNote,
    ThreadedConnector,
)
from ..model import Activity, CheckResult, Contact, ContactPatch, SearchQuery
from .samples import sample_contacts
from .store import LocalStore

INTEGRATION_ID = "local"
DATABASE_NAME = "contacts.sqlite3"


MAX_LIVE_CALLS = 200
"""Contacts with a live call remembered at once (a call whose end never came is forgotten first)."""
STATE_WORDS = {
    CallState.RINGING: "ringing",
    CallState.ANSWERED: "talking",
    CallState.HELD: "on hold",
    CallState.RESUMED: "talking",
}


@dataclass(frozen=True)
class LiveCall:
    """A call in progress with a contact of this book, as its live call events told it."""

    call_id: str
    state: CallState
    party: str
    """Who the contact is on the phone with, in words: the name and number of the other party."""

    @property
    def line(self) -> str:
        """The line the record page shows, e.g. "On a call with Chris Huffman (571-441-5956): on hold"."""
        return f"On a call with {self.party}: {STATE_WORDS.get(self.state, str(self.state).lower())}"


class LocalBook(BlockingConnector):
    """Contacts in a SQLite file of this book's data directory.

    Number searches and single records are indexed reads of a few rows through the thread's own read-only
    connection (no lock, no waiting for writers: see `LocalStore`), microseconds long, so they run on the
    event loop; name searches, activities and every write run in the book's worker threads.
    """

    on_loop = frozenset({Capability.SEARCH_NUMBER, Capability.POP})

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._live: dict[str, LiveCall] = {}
        self._live_lock = threading.Lock()

    def call_event(self, event: CallEvent) -> None:
        """Remember the matched contact's call while it lasts, for its record page (`live_call`)."""
        if not event.contact_id:
            return
        with self._live_lock:
            if event.state.final:
                current = self._live.get(event.contact_id)
                if current is not None and current.call_id == event.call_id:
                    del self._live[event.contact_id]
                return
            if event.direction == "Inbound":
                name, number = event.caller_name, event.caller_number
            else:
                name, number = event.called_name, event.called_number
            party = f"{name} ({number})" if name and number else name or number or "an unknown number"
            self._live.pop(event.contact_id, None)
            self._live[event.contact_id] = LiveCall(event.call_id, event.state, party)
            while len(self._live) > MAX_LIVE_CALLS:
                del self._live[next(iter(self._live))]

    def live_call(self, contact_id: str) -> LiveCall | None:
        """The contact's call in progress, if any (as the last live call event said)."""
        with self._live_lock:
            return self._live.get(contact_id)

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        if query.number:
            return self.store.find_by_number(query.number, query.limit)
        return self.store.find_by_text(query.text, query.limit)

    def get(self, contact_id: str) -> Contact | None:
        return self.store.get(contact_id)

    def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        return self.store.activities(contact_id, limit)

    def log_activity(self, contact_id: str, activity: Activity) -> str:
        activity_id = self.store.add_activity(contact_id, activity)
        if activity_id is None:
            raise AddinError("The contact no longer exists.", code="not_found")
        return activity_id

    def create(self, contact: Contact) -> Contact:
        contact.id = ""
        return self.store.add(contact)

    def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        contact = self.store.update(contact_id, patch)
        if contact is None:
            raise AddinError("The contact no longer exists.", code="not_found")
        return contact

    def test(self) -> Sequence[CheckResult]:
        return [CheckResult("database", True, f"{self.store.count()} contacts in {self.store.path.name}.")]

    def close(self) -> None:
        self.store.close()


def live_call_of(connector: Connector | None, contact_id: str) -> LiveCall | None:
    """The call in progress with a contact, when `connector` is a local address book that knows of one."""
    if isinstance(connector, ThreadedConnector) and isinstance(connector.blocking, LocalBook):
        return connector.blocking.live_call(contact_id)
    return None


def open_book(context: BookContext) -> LocalBook:
    path = context.data_dir / DATABASE_NAME
    new = not path.exists()
    store = LocalStore(path, context.default_region)
    if new and context.settings.get("seed_samples"):
        store.add_many(sample_contacts())
    return LocalBook(store)


LOCAL = Integration(
    id=INTEGRATION_ID,
    name="Local address book",
    version=__version__,
    open=open_book,
    capabilities=frozenset(Capability),
    description="Contacts kept on this computer; import vCard and CSV exports into it.",
    config=(
        ConfigField(
            "seed_samples",
            "Add sample contacts",
            FieldKind.BOOL,
            default=False,
            help="Fill a new, empty book with a few sample contacts to try caller preview.",
        ),
    ),
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/docs/local-address-book.md",
    release_notes=(ReleaseNote(__version__, "2026-11-25", "First release: search, pop, activities, import."),),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    return [LOCAL]
