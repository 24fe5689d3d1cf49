"""Write the local address book's contacts as vCard 3.0, the version every address book and CRM reads.

The pages' export (the whole book, or one contact) goes through `vcards`. What is written reads back
through partnercrmd's own importer as the same contact: importing an export into the book it came from
changes nothing (each card's UID is the contact's id).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from ..model import Contact, PhoneKind
from ..vcard_syntax import escape_text, fold

VCARD_MIME = "text/vcard"
PHONE_TYPES = {
    PhoneKind.BUSINESS: "WORK,VOICE",
    PhoneKind.MOBILE: "CELL",
    PhoneKind.HOME: "HOME,VOICE",
    PhoneKind.FAX: "FAX",
    PhoneKind.OTHER: "",
}
"""TEL TYPE values per kind, chosen so that the importer's `phone_kind` reads each kind back as itself."""
PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def vcard(contact: Contact) -> str:
    """One contact as a vCard 3.0, CRLF line ends, folded at 75 octets."""
    department = contact.custom.get("department", "")
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:{escape_text(contact.id)}",
        f"FN:{escape_text(contact.name)}",
        f"N:{escape_text(contact.last_name)};{escape_text(contact.first_name)};;;",
    ]
    if contact.company or department:
        lines.append(f"ORG:{escape_text(contact.company)}" + (f";{escape_text(department)}" if department else ""))
    if contact.job_title:
        lines.append(f"TITLE:{escape_text(contact.job_title)}")
    for number in contact.phones:
        kinds = PHONE_TYPES.get(number.kind, "")
        lines.append(f"TEL;TYPE={kinds}:{escape_text(number.number)}" if kinds else f"TEL:{escape_text(number.number)}")
    lines.extend(f"EMAIL;TYPE=INTERNET:{escape_text(address)}" for address in contact.emails)
    if contact.address:
        lines.append(f"ADR:;;{escape_text(contact.address)};;;;")
    if contact.url:
        lines.append(f"URL:{escape_text(contact.url)}")
    if contact.notes:
        lines.append(f"NOTE:{escape_text(contact.notes)}")
    if contact.custom.get("nickname"):
        lines.append(f"NICKNAME:{escape_text(contact.custom['nickname'])}")
    if contact.custom.get("birthday"):
        lines.append(f"BDAY:{escape_text(contact.custom['birthday'])}")
    if contact.picture is not None and contact.picture.mime_type in PHOTO_TYPES:
        data = base64.b64encode(contact.picture.data).decode("ascii")
        lines.append(f"PHOTO;ENCODING=b;TYPE={PHOTO_TYPES[contact.picture.mime_type]}:{data}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def vcards(contacts: Iterable[Contact]) -> str:
    """Contacts as one .vcf file's text (empty for none)."""
    return "".join(vcard(contact) for contact in contacts)
