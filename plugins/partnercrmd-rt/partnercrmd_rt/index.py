"""The book's local index of RT users' phone numbers.

RT's REST2 cannot search users by phone: a condition on WorkPhone, MobilePhone, HomePhone or PagerPhone is
silently dropped (they are not "public" user columns, lib/RT/REST2/Resource/Users.pm `searchable_fields`), and
RT stores numbers as typed anyway. So number searches are answered from a `PhoneIndex` (user id, number) in the
book's data directory, which matches numbers the way the host does. It is filled from a full, paged read of the
users when it is empty (the first search waits for it) or older than its refresh interval (in the background:
searches meanwhile use it as it is), and updated whenever this add-in reads or creates a user.
"""

from __future__ import annotations

from pathlib import Path

from partnercrmd.sdk import RefreshedPhoneIndex, index_file

from .client import rest_root


def index_path(data_dir: Path, url: str, token: str) -> Path:
    """The number index of this server and token (another server or user sees other users)."""
    return index_file(data_dir, rest_root(url), token)


def open_number_index(path: Path, region: str | None, max_age: float) -> RefreshedPhoneIndex:
    """The book's index (the SDK's `RefreshedPhoneIndex`: when to refresh, writes during one, back-off, status);
    opens the file, so call it off the event loop (`Integration.open` is)."""
    return RefreshedPhoneIndex(
        path,
        region,
        max_age,
        name="Refreshing the RT number index",
        first_fill_wait=0.0,  # the connector awaits the first fill itself (refresh): RT has no number search
    )
