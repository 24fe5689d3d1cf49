"""The local address book add-in, registered through the `partnercrmd.addins` entry point like any other."""

from __future__ import annotations

from collections.abc import Sequence

from .. import __version__, hookimpl
from ..errors import AddinError
from ..integration import BlockingConnector, BookContext, Capability, ConfigField, FieldKind, Integration, ReleaseNote
from ..model import Activity, CheckResult, Contact, ContactPatch, SearchQuery
from .samples import sample_contacts
from .store import LocalStore

INTEGRATION_ID = "local"
DATABASE_NAME = "contacts.sqlite3"


class LocalBook(BlockingConnector):
    """Contacts in a SQLite file of this book's data directory; every call runs in a worker thread."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

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
