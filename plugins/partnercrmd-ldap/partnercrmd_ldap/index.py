"""The book's local index of phone numbers by entry DN, so a number lookup needs no scan of the directory.

The server-side number filter (`*9*4*6*0*9*5*8*`, see filters.py) finds every spelling of a number, but
no substring index can serve it: slapd and Active Directory compare it with every entry under the base
DN on every call (25-35 ms of slapd's CPU per lookup with 10,000 entries). This index (partnercrmd's
`PhoneIndex`, a SQLite file in the book's data directory) holds every phone value of every contact
with its normalised key, under the entry's DN; a lookup names the entries that really have the number,
which the add-in then reads by DN with a base-scope search (a direct read, no scan).

It is filled by a paged search of every contact (only the phone attributes) in a background thread
(the SDK's `ThreadRefreshCoordinator`): when it is empty (the first search waits a little for that) and
when it is older than the book's `index_minutes`. A failed fill is logged and retried after `RETRY_SECONDS`
(doubling while it keeps failing); meanwhile the old index keeps answering. What the add-in itself writes
(new and changed contacts, entries found by the server search) is recorded at once, and again after a fill
that was running meanwhile.

A fill may also return a `since` bound (server time, GeneralizedTime text, see `LdapBook.index_fill`): every
entry changed by others after the index was read has a change time at or after it. It is stored in the index
file's meta table under the attribute it was read from, and survives restarts; a fill that read only part of
the directory (`PartialFill`), or no bound, removes it. The number search for a number the index does not know
then asks the server only about entries changed since then.

On Active Directory a fill also records the DC's change counter when it began (`Synced`: the rootDSE's
`highestCommittedUSN`, with the `serverName` it belongs to). While the DC's counter has not moved, the index holds
every number the directory holds, and a number it does not know is nobody's: the add-in answers from the index
after one read of the rootDSE. When the counter has moved, the add-in reads the entries changed since
(`uSNChanged`, Microsoft's "Polling for Changes Using uSNChanged"), records their numbers, and moves the recorded
counter on (`advance_synced`).

There, a fill also reads every contact's names, company and e-mail into a name index (the SDK's `NameIndex`, in
the same file): Active Directory has no index for a substring filter such as `(displayName=*word*)` and compares
it with every user (Samba: about 300 ms of its CPU with 10,000 users). While the index holds every contact's
names (`holds_names`: a complete fill on a DC with a change counter recorded them) and has caught up with the
DC's changes (the same `uSNChanged` read, which reads names too), a name search finds the DNs here and reads
just those entries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from partnercrmd.sdk import AddinError, NameIndex, PhoneIndex, RefreshStatus, ThreadRefreshCoordinator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bound:
    """Entries changed by others since the index was read have `attribute` >= `since` (GeneralizedTime)."""

    attribute: str
    since: str


@dataclass(frozen=True)
class Synced:
    """The index holds every contact's numbers as the directory server `server` held them when its update sequence
    number was `usn` (Active Directory's rootDSE `serverName` and `highestCommittedUSN`; every change made on or
    replicated to that DC raises it, and the entry changed carries the new value as its `uSNChanged`)."""

    server: str
    usn: int


@dataclass(frozen=True)
class Named:
    """What a name search looks in for one entry: its name (the order of results) and folded searchable text."""

    name: str
    text: str


@dataclass(frozen=True)
class Filled:
    """What a fill read: every contact's phone values by DN, the change-time bound (None: no bound), the DC's
    change counter when the fill began (None: the server has none, or the fill read only part), and every
    contact's names by DN (None: not read; only where there is a counter to keep them current)."""

    numbers: dict[str, list[str]]
    bound: Bound | None = None
    synced: Synced | None = None
    names: dict[str, Named] | None = None


Fill = Callable[[Callable[[], bool]], "dict[str, list[str]] | Filled"]
"""Reads every contact's numbers from the server: (should it stop?) → {DN: phone values} (or `Filled`)."""
BOUND_KEY = "ldap_modified_since"
"""The key of the change-time bound in the index file's meta table (value: "attribute since")."""
SYNCED_KEY = "ldap_synced_usn"
"""The key of `Synced` in the index file's meta table (value: "usn serverName")."""
NAMES_KEY = "ldap_names"
"""The key saying that the name index holds every contact's names, as of `Synced` (value: "complete")."""

FIRST_FILL_WAIT = 1.0
"""How long a search waits for the first fill of an empty index before it asks the server itself."""
RETRY_SECONDS = 60.0
"""After a failed fill, searches do not start another one for this long (the old index still answers)."""
CLOSE_WAIT = 2.0
"""How long closing the book waits, beyond the connection timeout, for a running fill to stop."""


class PartialFill(Exception):
    """Raised by a fill that the server stopped early: `numbers` is what it read, `reason` says why."""

    def __init__(self, numbers: dict[str, list[str]], reason: AddinError) -> None:
        super().__init__(reason.message)
        self.numbers = numbers
        self.reason = reason


class NumberIndex:
    """The `PhoneIndex` of one book (contact id column = entry DN) and its fill; thread-safe.

    When to fill, replaying the add-in's writes made during a fill, back-off and status are the SDK's
    `ThreadRefreshCoordinator`'s (`coordinator`); this class keeps the fill (`_fill`: the numbers and the
    change-time bound) and what the add-in writes (`remember`).
    """

    def __init__(self, path: Path, region: str | None, max_age: float, close_wait: float = CLOSE_WAIT) -> None:
        """Opens (or creates) the index file; blocking (the host opens books in a worker thread)."""
        self.path = path
        self.max_age = max_age
        self.close_wait = close_wait
        self._index = PhoneIndex(path, region)
        self._names = NameIndex(path)
        try:
            if self._names.prepare():  # a file of an earlier version (numbers only), or a new one
                self._index.set_note(NAMES_KEY, None)
        except BaseException:
            self._names.close()
            self._index.close()
            raise
        self._source: Fill | None = None
        self.coordinator = ThreadRefreshCoordinator(
            self._fill,
            name="Filling the LDAP number index",
            interval=max_age,
            retry_after=RETRY_SECONDS,
            first_fill_wait=FIRST_FILL_WAIT,
            last_success=self._index.refreshed_at(),
            entries=lambda count: count,
            logger=log,
        )
        self.incomplete: AddinError | None = None
        """Why the last fill got only part of the directory (None when it got all of it)."""
        self.sample: tuple[str, str] | None = None
        """(DN, number) of one indexed number from the last fill, for "Test connection"."""
        self._synced_lock = threading.Lock()

    @property
    def status(self) -> RefreshStatus:
        """Where the index stands (state, last success, last error, next due, numbers held)."""
        return self.coordinator.status

    @property
    def count(self) -> int | None:
        """How many numbers the last fill stored (None until a fill in this process finished)."""
        return self.coordinator.status.entries

    @property
    def last_error(self) -> str:
        """Why the last fill failed ("" after a fill that worked)."""
        return self.coordinator.status.last_error

    @property
    def last_error_code(self) -> str:
        """The stable error key of the last failed fill ("" after a fill that worked)."""
        return self.coordinator.status.last_error_code

    # --- the change-time bound -----------------------------------------------------------------------

    def bound(self, attribute: str) -> str | None:
        """Since when (GeneralizedTime) entries changed after the last complete fill carry a later `attribute`
        value; None when the last fill gave no bound, was partial, or read another attribute."""
        if not attribute:
            return None
        stored = self._index.note(BOUND_KEY)
        if stored is None:
            return None
        stored_attribute, _, since = stored.partition(" ")
        return since if stored_attribute.lower() == attribute.lower() and since else None

    def _store_bound(self, bound: Bound | None) -> None:
        self._index.set_note(BOUND_KEY, None if bound is None else f"{bound.attribute} {bound.since}")

    # --- the DC's change counter ----------------------------------------------------------------------

    def synced(self) -> Synced | None:
        """The DC's change counter up to which the index holds every contact's numbers (None: not known)."""
        stored = self._index.note(SYNCED_KEY)
        usn, _, server = (stored or "").partition(" ")
        return Synced(server, int(usn)) if usn.isdigit() and server else None

    def _store_synced(self, synced: Synced | None) -> None:
        self._index.set_note(SYNCED_KEY, None if synced is None else f"{synced.usn} {synced.server}")

    def advance_synced(self, seen: Synced, now: Synced) -> None:
        """Record `now` once the entries changed after `seen` are remembered; nothing when another fill or catch-up
        recorded something else meanwhile (it is as valid: each records a counter read before it read entries)."""
        with self._synced_lock:
            if self.synced() == seen:
                self._store_synced(now)

    # --- the names ------------------------------------------------------------------------------------

    def holds_names(self) -> bool:
        """Whether the name index holds every contact's names as of the recorded change counter (`synced`)."""
        return self._index.note(NAMES_KEY) == "complete" and self.synced() is not None

    def find_names(self, words: list[str], limit: int) -> list[str]:
        """DNs of entries whose names, company or e-mail hold every folded word, by name; at most `limit`."""
        return self._names.find(words, limit)

    # --- reading and recording -----------------------------------------------------------------------

    def lookup(self, number: str) -> list[str]:
        """DNs of entries with a number that is the same line as `number` (by the host's matching rules)."""
        return self._index.lookup(number)

    def remember(self, dn: str, numbers: Sequence[str], named: Named | None = None) -> None:
        """Record an entry's current phone values and names (none: it has none, or it is gone); again after a
        running fill."""
        values = list(numbers)
        name, text = (named.name, named.text) if named else ("", "")

        def store() -> None:
            self._index.update(dn, values)
            self._names.update(dn, name, text)

        self.coordinator.write(dn, store)

    def forget(self, dn: str) -> None:
        self.remember(dn, [])

    def age(self) -> float:
        """Seconds since the last full fill (infinite if never)."""
        return self._index.age()

    # --- filling -------------------------------------------------------------------------------------

    def ensure_fresh(self, fill: Fill) -> None:
        """Start a fill in the background when the index is stale; when it was never filled, wait a little."""
        self._source = fill
        self.coordinator.ensure_fresh()

    def refresh(self, fill: Fill) -> int:
        """Fill now (joining a fill that is running); returns how many numbers the index holds.

        Raises the fill's error (an AddinError with its stable key) when it fails.
        """
        self._source = fill
        try:
            return self.coordinator.refresh()
        except AddinError:
            raise
        except Exception:  # noqa: BLE001  (its text is in last_error; the check shows it with the key "unknown")
            raise AddinError(self.last_error or "The number index could not be filled.", code="unknown") from None

    def _fill(self, stopping: Callable[[], bool]) -> int:
        """Read every contact's numbers with the add-in's fill and store them, with the change-time bound."""
        assert self._source is not None  # ensure_fresh and refresh set it before they start a fill
        incomplete = None
        bound: Bound | None = None
        synced: Synced | None = None
        names: dict[str, Named] | None = None
        try:
            result = self._source(stopping)
            if isinstance(result, Filled):
                numbers, bound, synced, names = result.numbers, result.bound, result.synced, result.names
            else:
                numbers = result
        except PartialFill as partial:
            # What was read is right; numbers of the other entries are found by the server search (unbounded:
            # the entries not read may have any change time).
            numbers, incomplete = partial.numbers, partial.reason
            log.warning("The LDAP number index holds only part of the directory: %s", incomplete.message)
        if stopping():
            return 0  # the book is closing: store nothing (the coordinator ignores this result)
        if bound is None:
            self._store_bound(None)  # before the new numbers: never a bound that does not fit them
        complete_names = names is not None and synced is not None and incomplete is None
        if synced is None or incomplete is not None:
            with self._synced_lock:
                self._store_synced(None)  # likewise: an index of part of the directory does not hold every number
        if not complete_names:
            self._index.set_note(NAMES_KEY, None)
        if names is not None:
            self._names.replace_all((dn, named.name, named.text) for dn, named in names.items())
        count = self._index.replace_all(numbers.items())
        if bound is not None:
            # After the new numbers: until then the older (earlier, so looser) bound stays, which fits both.
            self._store_bound(bound)
        if synced is not None and incomplete is None:
            with self._synced_lock:  # after the numbers too: an older counter fits both
                self._store_synced(synced)
        if complete_names:
            self._index.set_note(NAMES_KEY, "complete")
        self.incomplete, self.sample = incomplete, first_number(numbers.items())
        return count

    def close(self, timeout: float) -> None:
        """Stop a running fill (it ends after its current page) and close the file."""
        self.coordinator.close(timeout + self.close_wait)
        self._names.close()
        self._index.close()


def first_number(entries: Iterable[tuple[str, Sequence[str]]]) -> tuple[str, str] | None:
    return next(((dn, numbers[0]) for dn, numbers in entries if numbers), None)
