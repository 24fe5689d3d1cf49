"""Contacts as the API shows them: ContactRecord, Field and Action objects, and activities.

What an add-in returned has been checked by `addin_output` before it is shaped here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from .integration import Capability
from .model import Activity, Contact, PhoneKind
from .signing import Signer


class ActionKind(StrEnum):
    OPEN = "Open"
    EDIT = "OpenInEditMode"
    LOG_ACTIVITY = "LogActivity"
    SHOW_ACTIVITIES = "ShowActivities"


ACTION_TEXT = {
    ActionKind.OPEN: "Open",
    ActionKind.EDIT: "Edit",
    ActionKind.LOG_ACTIVITY: "Log call",
    ActionKind.SHOW_ACTIVITIES: "Show activities",
}

ACTION_CAPABILITY = {
    ActionKind.OPEN: Capability.POP,
    ActionKind.EDIT: Capability.POP_EDIT,
    ActionKind.LOG_ACTIVITY: Capability.LOG_ACTIVITY,
    ActionKind.SHOW_ACTIVITIES: Capability.SHOW_ACTIVITIES,
}
"""The capability an integration needs for its records to offer each action."""


def utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def activity_json(activity: Activity) -> dict[str, Any]:
    return {
        "Subject": activity.subject,
        "Body": activity.body,
        "Direction": str(activity.direction),
        "StartTimeUtc": utc_text(activity.start_utc),
        "DurationSeconds": activity.duration_seconds,
    }


PHONE_LABELS = {
    PhoneKind.BUSINESS: "Business Phone",
    PhoneKind.MOBILE: "Mobile Phone",
    PhoneKind.HOME: "Home Phone",
    PhoneKind.FAX: "Fax",
    PhoneKind.OTHER: "Other Phone",
}


def contact_fields(contact: Contact, include_picture: bool) -> list[dict[str, Any]]:
    """The record's `Fields`, well-known ones first, CRM-specific ones as Custom."""
    rows: list[tuple[str, str, str, str, str]] = [("Full Name", contact.name, "ContactName", "Name", "Text")]
    rows += [
        (label, value, well_known, well_known, "Text")
        for label, value, well_known in (
            ("First Name", contact.first_name, "FirstName"),
            ("Last Name", contact.last_name, "LastName"),
            ("Company", contact.company, "CompanyName"),
            ("Job Title", contact.job_title, "JobTitle"),
        )
    ]
    counts: dict[str, int] = {}
    for phone in contact.phones:
        label = PHONE_LABELS[phone.kind]
        counts[label] = counts.get(label, 0) + 1
        numbered = label if counts[label] == 1 else f"{label} {counts[label]}"
        rows.append((numbered, phone.number, str(phone.kind), numbered.replace(" ", ""), "Phone"))
    for index, email in enumerate(contact.emails, start=1):
        label = "Email" if index == 1 else f"Email {index}"
        rows.append((label, email, "Email", label.replace(" ", ""), "Email"))
    rows += [
        ("Address", contact.address, "Address", "Address", "MultilineText"),
        ("Notes", contact.notes, "Notes", "Notes", "MultilineText"),
        ("Web Site", contact.url, "Url", "Url", "Url"),
    ]
    if include_picture and contact.picture is not None:
        encoded = base64.b64encode(contact.picture.data).decode("ascii")
        rows.append(("Picture", f"data:{contact.picture.mime_type};base64,{encoded}", "Picture", "Picture", "Image"))
    rows += [(name, value, "Custom", name, "Text") for name, value in contact.custom.items()]
    return [
        {
            "Name": name,
            "Value": value,
            "WellKnownName": well_known,
            "DescriptorId": descriptor,
            "Type": kind,
            "Ordinal": i,
        }
        for i, (name, value, well_known, descriptor, kind) in enumerate(r for r in rows if r[1])
    ]


DRAFT_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("Full Name", "ContactName", "Name", "Text"),
    ("First Name", "FirstName", "FirstName", "Text"),
    ("Last Name", "LastName", "LastName", "Text"),
    ("Company", "CompanyName", "CompanyName", "Text"),
    ("Business Phone", "BusinessPhone", "BusinessPhone", "Phone"),
    ("Email", "Email", "Email", "Email"),
    ("Notes", "Notes", "Notes", "MultilineText"),
)
"""(Name, WellKnownName, DescriptorId, Type) of the fields a record type declares (`RecordTypes`: HasContactName,
HasFirstNameLastName, HasCompanyName, HasEmail, HasNotes, and the phone), as `contact_fields` names them."""


def draft_record(unique_id: str, record_type: str) -> dict[str, Any]:
    """The new, empty ContactRecord `CreateNewRecord` gives for `RecordTypeId` alone: every field, no value, no
    actions (there is nothing in the CRM to act on until `SaveRecord` creates it)."""
    return {
        "UniqueId": unique_id,
        "RecordType": record_type,
        "DisplayText": "",
        "Fields": [
            {
                "Name": name,
                "Value": "",
                "WellKnownName": well_known,
                "DescriptorId": descriptor,
                "Type": kind,
                "Ordinal": i,
            }
            for i, (name, well_known, descriptor, kind) in enumerate(DRAFT_FIELDS)
        ],
        "Actions": [],
    }


def record_id(signer: Signer, book_id: str, contact_id: str) -> str:
    return signer.sign("record", {"b": book_id, "c": contact_id})


def action_id(signer: Signer, book_id: str, contact_id: str, kind: ActionKind) -> str:
    return signer.sign("action", {"b": book_id, "c": contact_id, "k": str(kind)})


@lru_cache(maxsize=64)
def _action_kinds(capabilities: frozenset[Capability]) -> tuple[ActionKind, ...]:
    """The actions a record of a book with `capabilities` offers (a book's capabilities rarely change)."""
    return tuple(k for k in ActionKind if k not in ACTION_CAPABILITY or ACTION_CAPABILITY[k] in capabilities)


def record_actions(
    signer: Signer, book_id: str, contact_id: str, capabilities: Iterable[Capability]
) -> list[dict[str, Any]]:
    kinds = _action_kinds(capabilities if isinstance(capabilities, frozenset) else frozenset(capabilities))
    actions = []
    for kind in kinds:
        token = action_id(signer, book_id, contact_id, kind)
        actions.append(
            {
                "UniqueId": token,
                "ActionId": token,
                "IsMultiple": False,
                "UseDefaultImage": True,
                "DisplayText": ACTION_TEXT[kind],
                "SpecialKind": str(kind),
            }
        )
    return actions


def contact_record(
    signer: Signer,
    book_id: str,
    contact: Contact,
    capabilities: Iterable[Capability],
    *,
    include_picture: bool = False,
    activities: Sequence[Activity] | None = None,
) -> dict[str, Any]:
    """A ContactRecord as API.md shapes it."""
    record: dict[str, Any] = {
        "UniqueId": record_id(signer, book_id, contact.id),
        "RecordType": contact.record_type,
        "DisplayText": contact.name,
        "Fields": contact_fields(contact, include_picture),
        "Actions": record_actions(signer, book_id, contact.id, capabilities),
    }
    if activities is not None:
        record["Activities"] = [activity_json(a) for a in activities]
    return record
