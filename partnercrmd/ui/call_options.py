"""The "Calls" fieldset of an address book's page: automatic pop, activities on a call, logging calls.

The options are the book's own (`BookConfig.auto_pop`, `auto_pop_match`,
`show_activity_on_call`, `create_activity_on_call_end`, `activity_subject`,
`activity_body`, `call_events`), posted as ``o.<option>`` beside the book's other options and
saved with `books.change_book`, as `partnercrmd books set` saves them. Options
a book cannot use are not shown (activities on a call need ShowActivities;
logging and its templates need LogActivity; live call events need LiveCallEvents) and, not being posted, keep their
stored values. Values are checked here first, so that a refused form says
what is wrong in the words of the form; `change_book` checks them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import MultiDictProxy

from ..books import AUTO_POP_MATCHES, AutoPop, BookConfig, OpenBook
from ..call_log.activity_text import DEFAULT_BODY, DEFAULT_SUBJECT, MAX_SUBJECT
from ..errors import ConfigError
from ..integration import Capability

MAX_BODY_TEMPLATE = 2000
"""The longest body template the form takes (refused, not cut, when longer)."""

AUTO_POP_LABELS = {
    AutoPop.NEVER: "Never",
    AutoPop.ON_RINGING: "When the phone rings",
    AutoPop.ON_ANSWER: "When the call is answered",
}
AUTO_POP_MATCH_LABELS = {
    "Single": "Only when the number matches exactly one record",
    "Best": "The best match, even when several records match",
}
PLACEHOLDERS = (
    "$kind, $direction, $caller, $called, $caller_number, $caller_name, "
    "$called_number, $called_name, $start, $duration, $notes"
)
BOOL_OPTIONS = ("show_activity_on_call", "create_activity_on_call_end", "call_events")
TEXT_OPTIONS = ("activity_subject", "activity_body")


@dataclass(frozen=True)
class CallsForm:
    """What the Calls fieldset shows: the values (stored, or as posted after a refusal) and which parts apply."""

    auto_pop: str
    auto_pop_match: str
    show_activity_on_call: bool
    create_activity_on_call_end: bool
    activity_subject: str
    activity_body: str
    can_show_activities: bool
    can_log: bool
    call_events: bool = False
    can_call_events: bool = False
    auto_pop_choices: tuple[tuple[str, str], ...] = tuple((str(k), v) for k, v in AUTO_POP_LABELS.items())
    auto_pop_match_choices: tuple[tuple[str, str], ...] = tuple(AUTO_POP_MATCH_LABELS.items())
    default_subject: str = DEFAULT_SUBJECT
    default_body: str = DEFAULT_BODY
    placeholders: str = PLACEHOLDERS


def book_capabilities(book: OpenBook) -> frozenset[Capability]:
    """What the book can do: its open connector's capabilities, else (disabled, not opened) its integration's."""
    if book.connector is not None:
        return book.capabilities
    return book.integration.capabilities if book.integration is not None else frozenset()


def calls_form(book: OpenBook, posted: Mapping[str, Any] | None = None) -> CallsForm:
    """The fieldset of `book`: what the user posted where a refused form had it, else the stored options."""
    posted = posted or {}
    config: BookConfig = book.config
    capabilities = book_capabilities(book)

    def value(key: str) -> Any:
        return posted[key] if key in posted else getattr(config, key)

    return CallsForm(
        auto_pop=str(value("auto_pop")),
        auto_pop_match=str(value("auto_pop_match")),
        show_activity_on_call=bool(value("show_activity_on_call")),
        create_activity_on_call_end=bool(value("create_activity_on_call_end")),
        activity_subject=str(value("activity_subject")),
        activity_body=str(value("activity_body")),
        can_show_activities=Capability.SHOW_ACTIVITIES in capabilities,
        can_log=Capability.LOG_ACTIVITY in capabilities,
        call_events=bool(value("call_events")),
        can_call_events=Capability.CALL_EVENTS in capabilities,
    )


def read_call_options(form: MultiDictProxy[Any], capabilities: frozenset[Capability]) -> dict[str, Any]:
    """The call options posted (only those the book can use and the form showed), as typed; see `check_call_options`."""
    given: dict[str, Any] = {}
    for key in ("auto_pop", "auto_pop_match"):
        if f"o.{key}" in form:
            given[key] = str(form.get(f"o.{key}", "")).strip()[:100]
    allowed = {
        "show_activity_on_call": Capability.SHOW_ACTIVITIES in capabilities,
        "create_activity_on_call_end": Capability.LOG_ACTIVITY in capabilities,
        "activity_subject": Capability.LOG_ACTIVITY in capabilities,
        "activity_body": Capability.LOG_ACTIVITY in capabilities,
        "call_events": Capability.CALL_EVENTS in capabilities,
    }
    for key in BOOL_OPTIONS:
        if allowed[key] and f"o.{key}" in form:
            given[key] = "1" in form.getall(f"o.{key}", [])
    for key in TEXT_OPTIONS:
        if allowed[key] and f"o.{key}" in form:
            # Browsers post textarea lines with CRLF; the templates keep LF. Kept whole: too long is refused.
            given[key] = str(form.get(f"o.{key}", "")).replace("\r\n", "\n").strip()
    return given


def check_call_options(given: Mapping[str, Any]) -> None:
    """Refuse a value the form could not have sent, in the form's words (ConfigError)."""
    auto_pop = given.get("auto_pop")
    if auto_pop is not None and auto_pop not in {str(c) for c in AutoPop}:
        choices = ", ".join(f"{label} ({key})" for key, label in AUTO_POP_LABELS.items())
        raise ConfigError(f"'Open the caller's record' must be one of: {choices}; got {auto_pop[:40]!r}.")
    match = given.get("auto_pop_match")
    if match is not None and match not in AUTO_POP_MATCHES:
        raise ConfigError(f"'Which record opens' must be Single or Best; got {match[:40]!r}.")
    subject = given.get("activity_subject")
    if subject is not None and len(subject) > MAX_SUBJECT:
        raise ConfigError(
            f"The subject of a logged call can be at most {MAX_SUBJECT} characters; this one has {len(subject)}."
        )
    body = given.get("activity_body")
    if body is not None and len(body) > MAX_BODY_TEMPLATE:
        raise ConfigError(
            f"The details of a logged call can be at most {MAX_BODY_TEMPLATE} characters; this one has {len(body)}."
        )
