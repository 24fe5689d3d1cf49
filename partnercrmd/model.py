"""The data that flows between the daemon and its add-ins: contacts, activities, queries."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class PhoneKind(StrEnum):
    """What a phone number is for; the values are the API's WellKnownName values."""

    BUSINESS = "BusinessPhone"
    MOBILE = "MobilePhone"
    HOME = "HomePhone"
    FAX = "Fax"
    OTHER = "OtherPhone"


@dataclass
class Phone:
    """A phone number exactly as the backend stores it, and what it is for."""

    number: str
    kind: PhoneKind = PhoneKind.OTHER


@dataclass
class Picture:
    """A contact's photo."""

    mime_type: str
    data: bytes


@dataclass
class Contact:
    """A person or company as an address book holds it.

    `id` is the backend's own identifier (empty for a contact not yet saved).
    `custom` holds CRM-specific fields shown to the user as they are.
    """

    id: str = ""
    display_name: str = ""
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    job_title: str = ""
    phones: list[Phone] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    address: str = ""
    notes: str = ""
    url: str = ""
    picture: Picture | None = None
    custom: dict[str, str] = field(default_factory=dict)
    record_type: str = "Contact"

    @property
    def name(self) -> str:
        """The best human name for the contact: display name, first + last, company, email or number."""
        if self.display_name.strip():
            return self.display_name.strip()
        full = f"{self.first_name} {self.last_name}".strip()
        if full:
            return full
        if self.company.strip():
            return self.company.strip()
        if self.emails:
            return self.emails[0]
        if self.phones:
            return self.phones[0].number
        return ""


@dataclass
class ContactPatch:
    """Changes to a contact (`SaveRecord`, `CreateNewRecord`): None means "leave as it is"."""

    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in dataclasses.astuple(self))

    def apply_to(self, contact: Contact) -> Contact:
        """Return a copy of `contact` with these changes made (email and phone replace the first one)."""
        new = dataclasses.replace(contact, phones=list(contact.phones), emails=list(contact.emails))
        for name in ("display_name", "first_name", "last_name", "company", "notes"):
            value = getattr(self, name)
            if value is not None:
                setattr(new, name, value)
        if self.email is not None:
            new.emails = [self.email, *new.emails[1:]] if self.email else new.emails[1:]
        if self.phone is not None:
            if new.phones:
                first = new.phones[0]
                rest = new.phones[1:]
                new.phones = [Phone(self.phone, first.kind), *rest] if self.phone else rest
            elif self.phone:
                new.phones = [Phone(self.phone, PhoneKind.BUSINESS)]
        return new


class CallDirection(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


@dataclass
class CallInfo:
    """What the PDC tells us about a call, for activity logging."""

    direction: CallDirection
    caller_number: str = ""
    caller_name: str = ""
    called_number: str = ""
    called_name: str = ""
    start_utc: datetime | None = None
    duration_seconds: int = 0
    notes: str = ""
    call_id: str = ""


@dataclass
class Activity:
    """A call (or other interaction) in a contact's history."""

    subject: str
    body: str
    direction: CallDirection
    start_utc: datetime
    duration_seconds: int = 0
    id: str = ""


@dataclass(frozen=True)
class SearchQuery:
    """One search as an add-in receives it.

    `number` is set when the text is a phone number; then `number_forms` lists
    the ways a backend may have stored it (E.164, national, digits only…) for
    backends that can only match text. `limit` is how many matches the host
    wants at most (the request's offset + count); returning more is allowed.
    """

    text: str
    limit: int
    number: str | None = None
    number_forms: tuple[str, ...] = ()
    include_pictures: bool = False
    include_activities: bool = False


@dataclass(frozen=True)
class CheckResult:
    """One step of "test connection": what was checked, whether it worked, what to do if not."""

    check: str
    ok: bool
    message: str
    error_key: str | None = None
