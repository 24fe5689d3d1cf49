"""vCards this add-in writes: new cards (3.0 or 4.0), changes to existing ones, call lines in NOTE, and reading.

Reading uses partnercrmd's own vCard parser. Changing a card edits only the
lines that change (FN, N, ORG, the preferred EMAIL and TEL, NOTE, REV), so
properties other apps keep in the card (photos, addresses, X- fields) survive.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from partnercrmd.sdk import Activity, Contact, ContactPatch, Phone, PhoneKind, fold
from partnercrmd.sdk.vcard import parse_vcards

from . import activities
from .content_lines import Component, Property, escape_text, split_escaped, unescape_text

VERSIONS = ("3.0", "4.0")

_TEL_TYPES = {
    PhoneKind.BUSINESS: ("work", "voice"),
    PhoneKind.MOBILE: ("cell", "voice"),
    PhoneKind.HOME: ("home", "voice"),
    PhoneKind.FAX: ("work", "fax"),
    PhoneKind.OTHER: ("voice",),
}


class BadCard(ValueError):
    """The server holds something that is not a vCard this add-in can change."""


@dataclass(frozen=True)
class StoredCard:
    """A card as read from the server."""

    name: str
    """The resource name in the collection (`<uid>.vcf`): the contact's id."""
    etag: str
    text: str


def read_contact(card: StoredCard) -> Contact | None:
    """The contact a card holds (id = its resource name, NOTE without call lines); None if it is unreadable."""
    found = parse_vcards(card.text)
    if not found:
        return None
    contact = found[0]
    contact.id = card.name
    contact.notes = activities.split_notes(contact.notes)[0]
    return contact


def search_words(contact: Contact) -> str:
    """What a name search looks in: folded name, company, emails and nickname, one per line."""
    parts = [contact.name, contact.first_name, contact.last_name, contact.company, *contact.emails]
    parts.append(contact.custom.get("nickname", ""))
    return "\n".join(fold(part) for part in parts if part)


def card_uid(text: str) -> str:
    card = Component.find(text, "VCARD")
    return card.value("UID").strip() if card is not None else ""


def card_numbers(text: str) -> list[str]:
    """Every TEL of a card as written (a 4.0 `tel:` URI as its number), for the phone index."""
    card = Component.find(text, "VCARD")
    if card is None:
        return []
    numbers = []
    for _, prop in card.properties("TEL"):
        number = unescape_text(prop.value).strip()
        if number.lower().startswith("tel:"):
            number = number[4:].split(";", 1)[0]
        if number:
            numbers.append(number)
    return numbers


def call_activities(text: str) -> list[Activity]:
    """The calls recorded in a card's NOTE lines."""
    card = Component.find(text, "VCARD")
    if card is None:
        return []
    note = "\n".join(unescape_text(prop.value) for _, prop in card.properties("NOTE"))
    parsed = (activities.parse_note_line(line) for line in note.split("\n"))
    return [activity for activity in parsed if activity is not None]


# --- writing ------------------------------------------------------------------------------------------


def _rev() -> str:
    return "REV:" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _tel_line(number: str, kind: PhoneKind, version: str) -> str:
    types = _TEL_TYPES[kind]
    written = ",".join(t.upper() for t in types) if version == "3.0" else ",".join(types)
    return f"TEL;TYPE={written}:{escape_text(number)}"


def _email_line(address: str, version: str) -> str:
    return f"EMAIL;TYPE=INTERNET:{escape_text(address)}" if version == "3.0" else f"EMAIL:{escape_text(address)}"


def _photo_line(contact: Contact, version: str) -> str | None:
    picture = contact.picture
    if picture is None or not picture.data:
        return None
    encoded = base64.b64encode(picture.data).decode("ascii")
    if version == "3.0":
        kind = picture.mime_type.partition("/")[2].upper() or "JPEG"
        return f"PHOTO;ENCODING=b;TYPE={kind}:{encoded}"
    return f"PHOTO:data:{picture.mime_type};base64,{encoded}"


def formatted_name(contact: Contact) -> str:
    """FN, which every vCard must have: the contact's best name, else "Unnamed"."""
    return contact.name or "Unnamed"


def new_card(contact: Contact, uid: str, version: str, prodid: str) -> str:
    """A complete vCard for a contact that is not on the server yet."""
    lines = [f"VERSION:{version}", f"PRODID:{prodid}", f"UID:{escape_text(uid)}"]
    lines.append(f"FN:{escape_text(formatted_name(contact))}")
    lines.append(f"N:{escape_text(contact.last_name)};{escape_text(contact.first_name)};;;")
    if contact.company:
        lines.append(f"ORG:{escape_text(contact.company)}")
    if contact.job_title:
        lines.append(f"TITLE:{escape_text(contact.job_title)}")
    lines += [_tel_line(p.number, p.kind, version) for p in contact.phones if p.number.strip()]
    lines += [_email_line(e, version) for e in contact.emails if e.strip()]
    if contact.url:
        lines.append(f"URL:{escape_text(contact.url)}")
    if contact.notes.strip():
        lines.append(f"NOTE:{escape_text(contact.notes.strip())}")
    photo = _photo_line(contact, version)
    if photo:
        lines.append(photo)
    lines.append(_rev())
    return Component("VCARD", lines).serialize()


class CardEditor:
    """Changes to one existing card, line by line."""

    def __init__(self, text: str) -> None:
        card = Component.find(text, "VCARD")
        if card is None:
            raise BadCard("it holds no BEGIN:VCARD … END:VCARD")
        self.card = card
        self.version = card.value("VERSION").strip() or "3.0"

    def text(self) -> str:
        self.card.set("REV", _rev())
        return self.card.serialize()

    # --- NOTE

    def notes(self) -> tuple[str, list[str]]:
        """(the user's own notes, the call lines) of NOTE; several NOTE lines are read as one text."""
        note = "\n".join(unescape_text(prop.value) for _, prop in self.card.properties("NOTE"))
        return activities.split_notes(note)

    def set_note(self, text: str) -> None:
        found = self.card.first("NOTE")
        self.card.remove("NOTE")
        if not text.strip():
            return
        line = found[1].with_value(escape_text(text)) if found else f"NOTE:{escape_text(text)}"
        self.card.lines.append(line)

    def append_call(self, line: str) -> None:
        own, calls = self.notes()
        self.set_note(activities.join_notes(own, [*calls, line]))

    # --- names

    def _components(self, name: str) -> list[str]:
        found = self.card.first(name)
        return split_escaped(found[1].value, ";") if found else []

    def _set_component(self, name: str, position: int, value: str, size: int) -> None:
        parts = self._components(name)
        parts += [""] * (max(size, position + 1) - len(parts))
        parts[position] = escape_text(value)
        found = self.card.first(name)
        joined = ";".join(parts)
        self.card.set(name, found[1].with_value(joined) if found else f"{name}:{joined}")

    def _name_part(self, position: int) -> str:
        parts = self._components("N")
        return unescape_text(parts[position]).strip() if len(parts) > position else ""

    def apply(self, patch: ContactPatch) -> None:
        """Make the changes a patch asks for (None fields stay as they are)."""
        old_auto = f"{self._name_part(1)} {self._name_part(0)}".strip()
        if patch.last_name is not None:
            self._set_component("N", 0, patch.last_name, 5)
        if patch.first_name is not None:
            self._set_component("N", 1, patch.first_name, 5)
        if patch.company is not None:
            self._set_organisation(patch.company)
        if patch.email is not None:
            self._set_preferred("EMAIL", patch.email, _email_line(patch.email, self.version))
        if patch.phone is not None:
            self._set_preferred("TEL", patch.phone, _tel_line(patch.phone, PhoneKind.BUSINESS, self.version))
        if patch.notes is not None:
            self.set_note(activities.join_notes(patch.notes, self.notes()[1]))
        self._set_formatted_name(patch, old_auto)

    def _set_organisation(self, company: str) -> None:
        if company or len(self._components("ORG")) > 1:
            self._set_component("ORG", 0, company, 1)
        else:
            self.card.remove("ORG")

    def _set_preferred(self, name: str, value: str, new_line: str) -> None:
        """Replace the preferred line's value (keeping its TYPE), remove it for "", or add one."""
        found = self.card.preferred(name)
        if found is None:
            if value.strip():
                self.card.lines.append(new_line)
            return
        index, prop = found
        if not value.strip():
            del self.card.lines[index]
            return
        self.card.lines[index] = _replace_value(prop, value)

    def _set_formatted_name(self, patch: ContactPatch, old_auto: str) -> None:
        """FN: the display name given; else follows first and last name if it did; never left empty."""
        current = self.card.value("FN").strip()
        if patch.display_name is not None and patch.display_name.strip():
            wanted = patch.display_name.strip()
        elif patch.display_name is not None or not current or (current == old_auto and old_auto):
            wanted = formatted_name(self.contact_for_name())
        else:
            return
        found = self.card.first("FN")
        self.card.set("FN", found[1].with_value(escape_text(wanted)) if found else f"FN:{escape_text(wanted)}")

    def contact_for_name(self) -> Contact:
        """The parts a name is made of when FN has to be worked out: first, last, company, email, phone."""
        email = self.card.preferred("EMAIL")
        tel = self.card.preferred("TEL")
        organisation = self._components("ORG")
        return Contact(
            first_name=self._name_part(1),
            last_name=self._name_part(0),
            company=unescape_text(organisation[0]).strip() if organisation else "",
            emails=[unescape_text(email[1].value).strip()] if email else [],
            phones=[Phone(unescape_text(tel[1].value).strip())] if tel else [],
        )


def _replace_value(prop: Property, value: str) -> str:
    """The line with a new value; a 4.0 `VALUE=uri` number (tel:…) becomes plain text, which 4.0 allows."""
    return prop.with_value(escape_text(value), drop_params=("VALUE",) if prop.name == "TEL" else ())
