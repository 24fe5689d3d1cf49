"""A new contact as the vCard 3.0 EDS stores (its local backend keeps vCard 3.0, as Evolution writes it)."""

from __future__ import annotations

from partnercrmd.sdk import Contact, PhoneKind
from partnercrmd.sdk.vcard import escape_text

TEL_TYPES = {
    PhoneKind.BUSINESS: "WORK,VOICE",
    PhoneKind.MOBILE: "CELL",
    PhoneKind.HOME: "HOME,VOICE",
    PhoneKind.FAX: "WORK,FAX",
    PhoneKind.OTHER: "VOICE",
}
"""vCard 3.0 TEL types EDS maps to its phone fields (business_phone, mobile_phone, home_phone, business_fax,
other_phone)."""


def new_vcard(contact: Contact) -> str:
    """The vCard of a contact not yet in EDS (EDS adds the UID and REV)."""
    name = contact.display_name or " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.name
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{escape_text(name)}"]
    lines.append(f"N:{escape_text(contact.last_name)};{escape_text(contact.first_name)};;;")
    if contact.company:
        lines.append(f"ORG:{escape_text(contact.company)}")
    if contact.job_title:
        lines.append(f"TITLE:{escape_text(contact.job_title)}")
    lines += [f"TEL;TYPE={TEL_TYPES[p.kind]}:{escape_text(p.number)}" for p in contact.phones if p.number.strip()]
    lines += [f"EMAIL;TYPE=INTERNET:{escape_text(e)}" for e in contact.emails if e.strip()]
    if contact.notes.strip():
        lines.append(f"NOTE:{escape_text(contact.notes.strip())}")
    return "\r\n".join([*lines, "END:VCARD", ""])
