"""The DNs of recently found contacts, so opening a contact or logging a call to it reads its entry by DN.

Contact ids are the entries' entryUUID / objectGUID, which slapd can only find with a subtree search
(a scan, unless the administrator indexed entryUUID). A contact is nearly always opened or logged to
right after a search showed it, so the add-in remembers each found contact's DN here (the newest
`size` of them, in memory) and reads the entry with a base-scope search on that DN and the id: a
direct read. An entry renamed or moved since then is not found there and is searched by id as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_SIZE = 2048


class DnCache:
    """contact id → DN of the newest `size` contacts found; thread-safe."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._dns: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, contact_id: str, dn: str) -> None:
        with self._lock:
            self._dns[contact_id] = dn
            self._dns.move_to_end(contact_id)
            while len(self._dns) > self.size:
                self._dns.popitem(last=False)

    def get(self, contact_id: str) -> str | None:
        with self._lock:
            return self._dns.get(contact_id)

    def drop(self, contact_id: str) -> None:
        with self._lock:
            self._dns.pop(contact_id, None)
