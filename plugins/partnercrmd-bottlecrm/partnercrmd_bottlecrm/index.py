"""The book's local phone index, kept fresh from BottleCRM's contact list.

BottleCRM's `GET /api/contacts/?phone=` compares the text as typed: "02079460958" does not find
"(0)20-7946-0958". So number searches are answered from a `PhoneIndex` (contact id, number) in
the book's data directory, which matches numbers the way the host does. It is filled from a full,
paged read of the contact list when it is empty or older than its refresh interval (in the
background: searches meanwhile use the index as it is), and updated whenever this add-in
creates, changes or reads a contact.
"""

from __future__ import annotations

from pathlib import Path

from partnercrmd.sdk import RefreshedPhoneIndex, index_file

from .client import api_root


def index_path(data_dir: Path, url: str, token: str) -> Path:
    """The number index of this server and token (another server or user has other contacts)."""
    return index_file(data_dir, api_root(url), token)


def open_number_index(path: Path, region: str | None, max_age: float) -> RefreshedPhoneIndex:
    """The book's index (the SDK's `RefreshedPhoneIndex`: when to refresh, writes during one, back-off, status);
    opens the file, so call it off the event loop (`Integration.open` is)."""
    return RefreshedPhoneIndex(
        path,
        region,
        max_age,
        name="Refreshing the BottleCRM number index",
        first_fill_wait=0.0,  # searches do not wait: BottleCRM's own check answers until the index is built
    )
