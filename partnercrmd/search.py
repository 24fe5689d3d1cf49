"""The search engine: one query, every enabled address book at once, each within its own deadline.

A book that raises, hangs past the deadline or returns garbage gets an
`ExceptionText` in its own slot; the others' results are unaffected. For
number queries the host keeps only contacts that really carry the number,
so a loose backend match can never show the wrong person.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from . import phone
from .addin_output import InvalidData, clean_activity, clean_contact
from .books import BookManager, OpenBook
from .errors import AddinError, PartnerError, Unsupported
from .integration import Capability, ThreadedConnector
from .model import Activity, Contact, SearchQuery
from .redact import redact
from .result_cache import ResultCache

log = logging.getLogger(__name__)

DEFAULT_DEADLINE = 1.5
MAX_ACTIVITIES = 10


@dataclass
class BookResult:
    """What one address book answered."""

    book: OpenBook
    contacts: list[Contact] = field(default_factory=list)
    activities: dict[str, list[Activity]] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    cached: bool = False


@dataclass(frozen=True)
class SearchRequest:
    text: str
    count: int = 5
    offset: int = 0
    include_pictures: bool = False
    include_activities: bool = False
    deadline: float = DEFAULT_DEADLINE


def number_query(
    text: str,
    region: str | None,
    limit: int = 5,
    *,
    include_pictures: bool = False,
    include_activities: bool = False,
    extension_lengths: Collection[int] = (),
) -> SearchQuery:
    """The query the daemon sends the add-ins for a number typed as `text` (read in `region` when national).

    An internal extension (its length in `extension_lengths`) is sent as its digits: see `phone.query_key`.
    """
    key = phone.query_key(text, region, extension_lengths)
    forms = phone.number_forms(key, region)
    return SearchQuery(
        text=text,
        limit=limit,
        number=key.e164 or key.digits,
        number_forms=forms,
        include_pictures=include_pictures,
        include_activities=include_activities,
    )


class SearchEngine:
    def __init__(
        self,
        books: BookManager,
        region: str | None,
        extension_lengths: Callable[[], Collection[int]] = tuple,
    ) -> None:
        self.books = books
        self.region = region
        self.extension_lengths = extension_lengths
        """The dialling settings' internal extension lengths as they stand now (they change at runtime)."""
        self.cache = ResultCache()
        self._abandoned: set[asyncio.Task[BookResult]] = set()

    def make_query(self, request: SearchRequest) -> SearchQuery:
        """Classify the text (number or name) and describe it for the add-ins."""
        text = request.text.strip()
        limit = request.offset + request.count
        pictures, activities = request.include_pictures, request.include_activities
        if phone.looks_like_number(text):
            return number_query(
                text,
                self.region,
                limit,
                include_pictures=pictures,
                include_activities=activities,
                extension_lengths=self.extension_lengths(),
            )
        return SearchQuery(text=text, limit=limit, include_pictures=pictures, include_activities=activities)

    async def search(self, request: SearchRequest, books: Sequence[OpenBook] | None = None) -> list[BookResult]:
        """Search every enabled book (or `books`); results in priority order, one per book.

        Each book is searched in a task of its own, within the deadline, so that books answer concurrently and
        a slow one costs only its own slot; except books whose search runs on the loop without waiting
        (`answers_at_once`), which are searched in place once the others' tasks have started: a task, the
        wait and a turn of the loop would cost more than their search.
        """
        query = self.make_query(request)
        targets = list(books) if books is not None else self.books.enabled()
        needed = Capability.SEARCH_NUMBER if query.number else Capability.SEARCH_NAME
        at_once = [not request.include_activities and answers_at_once(book, needed) for book in targets]
        tasks = {
            book.id: asyncio.create_task(self._search_book(book, query, request))
            for book, now in zip(targets, at_once, strict=True)
            if not now
        }
        answered = {
            book.id: await self._search_book(book, query, request)
            for book, now in zip(targets, at_once, strict=True)
            if now
        }
        if tasks:
            await asyncio.wait(tasks.values(), timeout=request.deadline)
        results: list[BookResult] = []
        for book in targets:
            if book.id in answered:
                results.append(answered[book.id])
                continue
            task = tasks[book.id]
            if task.done():
                results.append(task.result())  # _search_book never raises
                continue
            task.cancel()
            # A task that ignores cancellation (a thread stuck in a blocking call) must not be garbage-collected
            # while pending; keep a reference until it ends.
            self._abandoned.add(task)
            task.add_done_callback(self._abandoned.discard)
            log.warning("address book %s did not answer within %.1f s", book.id, request.deadline)
            results.append(
                BookResult(book, error=f"No answer within {request.deadline:g} s.", seconds=request.deadline)
            )
        return results

    async def _search_book(self, book: OpenBook, query: SearchQuery, request: SearchRequest) -> BookResult:
        started = time.perf_counter()
        result = BookResult(book)
        flags = (request.offset, request.count, request.include_pictures, request.include_activities)
        key = (query.number or query.text.lower(), *flags)
        try:
            cached = self.cache.get(book, key) if book.config.cached else None
            if cached is not None:
                result.contacts, result.activities = cached
                result.cached = True
            else:
                result.contacts, result.activities = await self._ask(book, query, request)
                if book.config.cached:
                    self.cache.put(book, key, result.contacts, result.activities)
                await self.books.note_search(book, None)  # an answer clears a finding it disproves
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  (add-in code: every failure becomes this book's ExceptionText)
            result.error = describe_failure(book, exc)
            if isinstance(exc, AddinError):  # refused credentials or sign-in: the book's status says so
                await self.books.note_search(book, exc.code, result.error)
        result.seconds = time.perf_counter() - started
        return result

    async def _ask(
        self, book: OpenBook, query: SearchQuery, request: SearchRequest
    ) -> tuple[list[Contact], dict[str, list[Activity]]]:
        if book.connector is None or book.integration is None:
            raise Unavailable(book.error or "This address book is unavailable.")
        needed = Capability.SEARCH_NUMBER if query.number else Capability.SEARCH_NAME
        if needed not in book.capabilities:
            return [], {}
        found = await book.connector.search(query)
        if not isinstance(found, Sequence) or isinstance(found, (str, bytes)):
            raise InvalidData(f"search returned {type(found).__name__}, not a list")
        contacts = [clean_contact(c) for c in found]
        if query.number:
            wanted = phone.query_key(query.text, self.region, self.extension_lengths())
            contacts = [c for c in contacts if self._has_number(c, wanted)]
        contacts = unique_by_id(contacts)[request.offset : request.offset + request.count]
        if not request.include_pictures:
            for contact in contacts:
                contact.picture = None
        activities: dict[str, list[Activity]] = {}
        if request.include_activities and Capability.SHOW_ACTIVITIES in book.capabilities:
            for contact in contacts:
                activities[contact.id] = await self._activities(book, contact)
        return contacts, activities

    async def _activities(self, book: OpenBook, contact: Contact) -> list[Activity]:
        """A contact's recent activities; a failure costs only them, not the book's search results."""
        assert book.connector is not None
        try:
            listed = await book.connector.activities(contact.id, MAX_ACTIVITIES)
            return [clean_activity(a) for a in list(listed)[:MAX_ACTIVITIES]]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  (add-in code)
            log.warning("address book %s: activities of a contact failed: %s", book.id, describe_failure(book, exc))
            return []

    def _has_number(self, contact: Contact, wanted: phone.PhoneKey) -> bool:
        return any(phone.numbers_match(wanted, phone.phone_key(p.number, self.region)) for p in contact.phones)


def answers_at_once(book: OpenBook, needed: Capability) -> bool:
    """Whether the book's search for `needed` runs on the loop and never waits: a blocking connector's read
    declared `on_loop` (see `BlockingConnector.on_loop`), so it is bounded and needs no deadline of its own."""
    connector = book.connector
    return isinstance(connector, ThreadedConnector) and connector.runs_on_loop(needed)


class Unavailable(PartnerError):
    code = "unavailable"


def unique_by_id(contacts: list[Contact]) -> list[Contact]:
    seen: set[str] = set()
    unique = []
    for contact in contacts:
        if contact.id not in seen:
            seen.add(contact.id)
            unique.append(contact)
    return unique


def describe_failure(book: OpenBook, exc: BaseException) -> str:
    """Words for the user about why a book failed, with the book's secrets removed."""
    if isinstance(exc, (AddinError, Unavailable, Unsupported)):
        text = exc.message
    elif isinstance(exc, InvalidData):
        text = f"The address book returned invalid data ({exc})."
    elif isinstance(exc, TimeoutError):
        text = "The address book timed out."
    elif isinstance(exc, ConnectionError | OSError):
        text = f"The address book could not be reached ({type(exc).__name__}: {exc})."
    else:
        text = f"The address book failed ({type(exc).__name__}: {exc})."
    text = redact(text, book.integration, book.config.settings)[:500]
    log.warning("address book %s failed: %s", book.id, text)
    return text
