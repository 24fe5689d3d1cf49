"""RT users and tickets <-> partnercrmd's model: contacts, new users, and calls as comments or tickets.

What RT sends is untrusted: every value is type-checked here, and a field of the wrong kind is left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from partnercrmd.sdk import Activity, AddinError, CallDirection, Contact, Phone, PhoneKind, phone_key, searchable_text

from .client import PHONE_FIELDS

PHONE_KINDS = {
    "WorkPhone": PhoneKind.BUSINESS,
    "MobilePhone": PhoneKind.MOBILE,
    "HomePhone": PhoneKind.HOME,
    "PagerPhone": PhoneKind.OTHER,
}
FIELD_OF_KIND = {
    PhoneKind.BUSINESS: "WorkPhone",
    PhoneKind.MOBILE: "MobilePhone",
    PhoneKind.HOME: "HomePhone",
    PhoneKind.OTHER: "PagerPhone",
    PhoneKind.FAX: "PagerPhone",
}
"""Where a new contact's numbers go: RT has four phone fields and no fax."""
MAX_PHONE = 30
"""RT's phone columns are varchar(30)."""
MAX_SUBJECT = 200
USER_NAME = re.compile(r"[^\w.@+-]+")


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value.strip() if isinstance(value, str) else ""


def user_id_of(record: Mapping[str, Any]) -> str:
    """The user's numeric id (a search's items carry it when `fields` names `id`)."""
    value = record.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise AddinError("Request Tracker sent a user without a numeric id.", code="invalid_data")
    return str(value)


def contact_from_user(record: Mapping[str, Any]) -> Contact:
    """A contact from an RT user, as `GET /user/:id` or a search's items (with `fields`) send it."""
    phones = [Phone(number, PHONE_KINDS[field]) for field in PHONE_FIELDS if (number := _text(record, field))]
    email = _text(record, "EmailAddress")
    name = _text(record, "Name")
    real_name = _text(record, "RealName")
    address = ", ".join(
        part for part in (_text(record, k) for k in ("Address1", "Address2", "City", "State", "Zip", "Country")) if part
    )
    return Contact(
        id=user_id_of(record),
        display_name=real_name or name,
        company=_text(record, "Organization"),
        phones=phones,
        emails=[email] if email else [],
        address=address,
        notes=_text(record, "Comments"),
        custom={"RT user name": name} if name and name != real_name else {},
    )


def user_text(contact: Contact) -> str:
    """What a name search looks in for one user (`contact_from_user`): name, organisation, e-mail address and RT
    user name, each folded, one per line."""
    return searchable_text([contact.display_name, contact.company, *contact.emails, *contact.custom.values()])


def user_numbers(record: Mapping[str, Any]) -> list[str]:
    """The user's phone numbers, as typed in RT, for the number index."""
    return [number for field in PHONE_FIELDS if (number := _text(record, field))]


def phone_for_rt(number: str, region: str | None) -> str:
    """`number` as typed when it fits RT's 30 characters, else in E.164."""
    number = number.strip()
    if len(number) <= MAX_PHONE:
        return number
    key = phone_key(number, region)
    candidate = key.e164 or key.digits
    if candidate and len(candidate) <= MAX_PHONE:
        return candidate
    raise AddinError(f"RT keeps phone numbers of up to 30 characters; {number[:40]!r} is longer.", code="invalid_data")


def new_user_body(contact: Contact, region: str | None) -> dict[str, Any]:
    """`POST /user` for a new (unprivileged) user. RT needs a unique Name: the email address, else the name."""
    real_name = contact.name if contact.name not in {p.number for p in contact.phones} else ""
    email = contact.emails[0].strip() if contact.emails else ""
    login = email or USER_NAME.sub(".", real_name).strip(".")
    if not login:
        raise AddinError("RT needs a name or an email address for a new user; give one.", code="invalid_data")
    body: dict[str, Any] = {"Name": login, "RealName": real_name or email, "Privileged": 0}
    if email:
        body["EmailAddress"] = email
    for phone in contact.phones:
        field = FIELD_OF_KIND.get(phone.kind, "WorkPhone")
        if phone.number.strip() and field not in body:
            body[field] = phone_for_rt(phone.number, region)
    if contact.company.strip():
        body["Organization"] = contact.company.strip()
    if contact.notes.strip():
        body["Comments"] = contact.notes.strip()
    return body


def minutes_taken(activity: Activity) -> int:
    """RT's TimeTaken is in whole minutes: a call's seconds, rounded up."""
    return math.ceil(max(0, activity.duration_seconds) / 60)


def call_content(activity: Activity) -> str:
    """The comment's or ticket's text: the activity's body (partnercrmd's template made it), never empty."""
    direction = "Incoming" if activity.direction is CallDirection.INBOUND else "Outgoing"
    return activity.body.strip() or f"{direction} call, {activity.duration_seconds} s."


def comment_body(activity: Activity) -> dict[str, Any]:
    """`POST /ticket/:id/comment`: the call as a comment, with the call's minutes as time worked."""
    return {
        "Subject": activity.subject[:MAX_SUBJECT],
        "Content": call_content(activity),
        "ContentType": "text/plain",
        "TimeTaken": minutes_taken(activity),
    }


def ticket_body(user_id: str, queue: str, activity: Activity) -> dict[str, Any]:
    """`POST /ticket`: the call as a new ticket in `queue`, the user as its requestor."""
    return {
        "Queue": queue,
        "Requestor": [int(user_id)],
        "Subject": activity.subject[:MAX_SUBJECT],
        "Content": call_content(activity),
        "ContentType": "text/plain",
        "TimeWorked": minutes_taken(activity),
    }
