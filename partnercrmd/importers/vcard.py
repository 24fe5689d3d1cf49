"""Read vCard 2.1, 3.0 and 4.0 files (Outlook, iPhone, Android, Gmail, Lotus Notes…) into contacts.

Standard library only: the exports that real devices write break strict parsers
(quoted-printable soft line breaks, base64 folded without indentation, mixed line
endings), so this parser is lenient about layout and strict only where a card
cannot be trusted any more: such a card is skipped with a warning and the
others are kept.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from partnercrmd.errors import BadRequest
from partnercrmd.model import Contact, Phone, PhoneKind, Picture
from partnercrmd.vcard_syntax import split_escaped, split_name_value, split_outside_quotes, unescape_text

__all__ = [
    "decode_vcard_bytes",
    "parse_vcards",
    "parse_vcards_with_warnings",
    "phone_kind",
    "vcards_from_bytes",
]

_QP = "QUOTED-PRINTABLE"
_BASE64 = "BASE64"
_BARE_ENCODINGS = {_QP: _QP, "BASE64": _BASE64, "B": _BASE64, "8BIT": "8BIT", "7BIT": "7BIT"}
_PREF_NONE = 101  # PREF runs from 1 (most preferred) to 100
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]+")
_CHARSET_IN_FILE = re.compile(rb"CHARSET=\"?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_DATA_URI = re.compile(r"data:([^;,]*)((?:;[^;,]*)*),(.*)", re.IGNORECASE | re.DOTALL)
_IMAGE_TYPES = {
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "webp": "image/webp",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class _CardError(ValueError):
    """A card that cannot be read any more; it is skipped with this message."""


@dataclass(frozen=True)
class _Line:
    """One logical (unfolded) content line and the physical line it starts on."""

    number: int
    text: str


@dataclass
class _Property:
    """One parsed content line: `item1.TEL;TYPE=work:+1 555` (value still escaped)."""

    group: str
    name: str
    params: dict[str, list[str]]
    value: str
    line: int

    def param(self, key: str) -> str:
        values = self.params.get(key, [])
        return values[0] if values else ""

    @property
    def types(self) -> set[str]:
        return {value.lower() for value in self.params.get("TYPE", []) if value}

    @property
    def encoding(self) -> str:
        return _encoding(self.params)

    def text(self) -> str:
        """The value with any quoted-printable transfer encoding undone (backslash escapes kept)."""
        if self.encoding == _QP:
            return _decode_quoted_printable(self.value, self.param("CHARSET"))
        return self.value

    def pref_rank(self) -> int:
        """1 for the most preferred value, `_PREF_NONE` when the card does not say."""
        for value in self.params.get("PREF", []):
            if value.strip().isdigit():
                return int(value)
        return 1 if "pref" in self.types else _PREF_NONE


@dataclass
class _Block:
    """The lines between BEGIN:VCARD and END:VCARD, or why the card is broken."""

    start: int
    lines: list[_Line] = field(default_factory=list)
    error: str = ""


# --------------------------------------------------------------------------- files and bytes


def vcards_from_bytes(data: bytes, source: str) -> tuple[list[Contact], list[str]]:
    """Parse the bytes of a vCard file called `source`; raise BadRequest if no contact can be read."""
    contacts, warnings = parse_vcards_with_warnings(decode_vcard_bytes(data))
    if not contacts:
        raise BadRequest(f"{source}: no readable vCard: " + "; ".join(warnings or ["no contact found"]))
    return contacts, [f"{source}: {warning}" for warning in warnings]


def decode_vcard_bytes(data: bytes) -> str:
    """Decode a vCard file: BOM, else UTF-8, else the CHARSET the file declares, else cp1252/latin-1."""
    return _without_surrogates(_decode_file(data))


def _without_surrogates(text: str) -> str:
    """Text with any lone surrogate (which UTF-7 decodes to, and UTF-8 cannot store) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _decode_file(data: bytes) -> str:
    """The text of a vCard file, as `decode_vcard_bytes` describes (lone surrogates still in)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_charsets(data)
    if declared and all(charset in ("utf-8", "utf8") for charset in declared):
        return data.decode("utf-8", errors="replace")  # says UTF-8 and mostly is: keep the rest readable
    for charset in [*declared, "cp1252"]:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _declared_charsets(data: bytes) -> list[str]:
    """The CHARSET parameters in a file, lower-cased, first seen first, without duplicates."""
    found = (match.group(1).decode("ascii").lower() for match in _CHARSET_IN_FILE.finditer(data))
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------- text to cards


def parse_vcards(text: str) -> list[Contact]:
    """Parse every readable card of a vCard text (broken cards are skipped)."""
    return parse_vcards_with_warnings(text)[0]


def parse_vcards_with_warnings(text: str) -> tuple[list[Contact], list[str]]:
    """Parse a vCard text: the contacts, and one warning per card skipped or value dropped."""
    contacts: list[Contact] = []
    warnings: list[str] = []
    found = False
    for block in _blocks(_logical_lines(_physical_lines(text))):
        found = True
        contact = _read_block(block, warnings)
        if contact is not None:
            contacts.append(contact)
    if not found:
        warnings.append("no vCard found (no BEGIN:VCARD line)")
    return contacts, warnings


def _read_block(block: _Block, warnings: list[str]) -> Contact | None:
    """The contact of one card, or None (and a warning) if the card is broken or empty."""
    where = f"line {block.start}: vCard skipped"
    if block.error:
        warnings.append(f"{where}: {block.error}")
        return None
    try:
        properties = [_parse_property(line) for line in block.lines]
    except _CardError as exc:
        warnings.append(f"{where}: {exc}")
        return None
    contact = _CardBuilder(properties, warnings).build()
    if not contact.name:
        warnings.append(f"{where}: it has no name, organisation, email or phone number")
        return None
    return contact


def _physical_lines(text: str) -> list[str]:
    r"""Split on CRLF, LF, CR and the CR CR LF that some iPhone exports write."""
    return re.split(r"\r*\n|\r", text.removeprefix("\ufeff"))


def _logical_lines(physical: list[str]) -> Iterator[_Line]:
    """Unfold: folded lines, quoted-printable soft line breaks and unindented 2.1 base64 lines."""
    current: list[str] = []
    start = 0
    encoding = ""
    for number, raw in enumerate(physical, start=1):
        if current:
            if _continues(current[-1], raw, encoding):
                current[-1] = current[-1][:-1]  # drop the soft line break's "="
                current.append(raw)
                continue
            if raw[:1] in (" ", "\t"):
                current.append(raw[1:])
                continue
            if encoding == _BASE64 and _BASE64_LINE.fullmatch(raw):
                current.append(raw)
                continue
            yield _Line(start, "".join(current))
            current = []
        if raw.strip():
            current, start, encoding = [raw.lstrip()], number, _line_encoding(raw)
    if current:
        yield _Line(start, "".join(current))


def _continues(previous: str, raw: str, encoding: str) -> bool:
    """Whether `raw` continues a quoted-printable value after a soft line break."""
    return encoding == _QP and previous.endswith("=") and not _is_boundary(raw)


def _line_encoding(line: str) -> str:
    """QUOTED-PRINTABLE or BASE64 if the line's parameters say so (needed before unfolding)."""
    split = split_name_value(line)
    if split is None:
        return ""
    return _encoding(_parse_params(split_outside_quotes(split[0], ";")[1:]))


def _encoding(params: dict[str, list[str]]) -> str:
    """The transfer encoding, normalised: QUOTED-PRINTABLE, BASE64 (also `b`), or as written."""
    declared = next(iter(params.get("ENCODING", [])), "").strip().upper()
    return _BARE_ENCODINGS.get(declared, declared)


def _is_boundary(line: str) -> bool:
    return line.strip().upper() in ("BEGIN:VCARD", "END:VCARD")


def _blocks(lines: Iterable[_Line]) -> Iterator[_Block]:
    """Group logical lines into cards; nested AGENT cards are skipped, unterminated cards flagged."""
    block: _Block | None = None
    depth = 0
    for line in lines:
        marker = line.text.strip().upper()
        if block is None:
            if marker == "BEGIN:VCARD":
                block = _Block(line.number)
        elif depth:
            depth += {"BEGIN:VCARD": 1, "END:VCARD": -1}.get(marker, 0)
        elif marker == "BEGIN:VCARD":
            if block.lines and _is_empty_agent(block.lines[-1]):
                depth = 1
                continue
            block.error = f"no END:VCARD before the BEGIN:VCARD on line {line.number}"
            yield block
            block = _Block(line.number)
        elif marker == "END:VCARD":
            yield block
            block = None
        else:
            block.lines.append(line)
    if block is not None:
        block.error = "the file ends before END:VCARD"
        yield block


def _is_empty_agent(line: _Line) -> bool:
    """A vCard 2.1 `AGENT:` line, whose value is the nested card that follows."""
    split = split_name_value(line.text)
    return split is not None and not split[1].strip() and split[0].split(";")[0].upper().endswith("AGENT")


# --------------------------------------------------------------------------- content lines


def _parse_property(line: _Line) -> _Property:
    """Split `group.NAME;PARAM=a,b;BARE:value` into its parts."""
    split = split_name_value(line.text)
    if split is None:
        raise _CardError(f"line {line.number} is not a vCard property: {line.text[:60]!r}")
    head, value = split
    name_part, *param_parts = split_outside_quotes(head, ";")
    group, _, name = name_part.strip().rpartition(".")
    if not _NAME.fullmatch(name) or (group and not _NAME.fullmatch(group)):
        raise _CardError(f"line {line.number} has no valid property name: {line.text[:60]!r}")
    return _Property(group.lower(), name.upper(), _parse_params(param_parts), value, line.number)


def _parse_params(parts: list[str]) -> dict[str, list[str]]:
    """`TYPE=work,voice`, `TYPE="work,voice"`, repeated `type=` and 2.1 bare `WORK`/`QUOTED-PRINTABLE`."""
    params: dict[str, list[str]] = {}
    for part in parts:
        key, equals, value = part.partition("=")
        if not equals:
            word = part.strip()
            key, value = ("ENCODING" if word.upper() in _BARE_ENCODINGS else "TYPE"), word
        values = [item.strip().strip('"') for item in split_outside_quotes(value, ",")]
        params.setdefault(key.strip().upper(), []).extend(values)
    return params


def _decode_quoted_printable(value: str, charset: str) -> str:
    raw = quopri.decodestring(value.encode("utf-8"))
    return _without_surrogates(_decode_charset(raw, charset)).replace("\r\n", "\n").replace("\r", "\n")


def _decode_charset(raw: bytes, charset: str) -> str:
    """Decode with the declared charset; an undeclared or wrong one falls back to UTF-8, then cp1252."""
    charset = charset.strip().lower()
    if charset:
        try:
            return raw.decode(charset)
        except LookupError:
            pass
        except UnicodeDecodeError:
            if charset in ("utf-8", "utf8"):
                return raw.decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


# --------------------------------------------------------------------------- card to contact


class _CardBuilder:
    """Turns the properties of one card into a Contact."""

    def __init__(self, properties: list[_Property], warnings: list[str]) -> None:
        self.properties = properties
        self.warnings = warnings
        self.labels = {p.group: _apple_label(p.value) for p in properties if p.name == "X-ABLABEL" and p.group}
        self.contact = Contact()

    def build(self) -> Contact:
        """Fill the contact from the card's properties."""
        contact = self.contact
        first = self._first
        contact.id = self._identity()
        contact.display_name = unescape_text(first("FN")).strip()
        contact.job_title = unescape_text(first("TITLE") or first("ROLE")).strip()
        contact.url = next((unescape_text(p.text()).strip() for p in self._by_pref("URL")), "")
        contact.emails = _unique(_email(p) for p in self._by_pref("EMAIL"))
        contact.phones = _unique_phones(self._phone(p) for p in self._by_pref("TEL"))
        contact.address = self._address()
        contact.notes = "\n".join(_clean_multiline(unescape_text(p.text())) for p in self._all("NOTE")).strip()
        self._name()
        self._organisation()
        self._picture()
        self._custom()
        return contact

    def _identity(self) -> str:
        """The card's identity, which importing it again matches: its UID, else Apple's X-ABUID.

        Mac Address Book writes X-ABUID (`<uuid>:ABPerson`) instead of a UID; Evolution, Lotus Notes and
        CardDAV servers write UID. The Outlook, Gmail, Android and iPhone exports in shared/data carry neither.
        """
        for name in ("UID", "X-ABUID"):
            identity = unescape_text(self._first(name)).strip()
            if identity:
                return identity
        return ""

    def _all(self, name: str) -> list[_Property]:
        return [p for p in self.properties if p.name == name]

    def _first(self, name: str) -> str:
        """The decoded (still escaped) value of the first such property, or ""."""
        return next((p.text() for p in self.properties if p.name == name), "")

    def _by_pref(self, name: str) -> list[_Property]:
        return sorted(self._all(name), key=_Property.pref_rank)

    def _name(self) -> None:
        parts = split_escaped(self._first("N"), ";")
        self.contact.last_name = _name_list(parts[0])
        self.contact.first_name = _name_list(parts[1]) if len(parts) > 1 else ""

    def _organisation(self) -> None:
        parts = [unescape_text(part).strip() for part in split_escaped(self._first("ORG"), ";")]
        self.contact.company = parts[0]
        department = ", ".join(part for part in parts[1:] if part)
        if department:
            self.contact.custom["department"] = department

    def _phone(self, prop: _Property) -> Phone:
        types = prop.types | ({self.labels[prop.group]} if prop.group in self.labels else set())
        return Phone(_phone_number(unescape_text(prop.text())), phone_kind(types))

    def _address(self) -> str:
        """The preferred (then work, then first) ADR as one line; LABEL if there is no ADR."""
        addresses = sorted(self._all("ADR"), key=lambda p: (p.pref_rank(), "work" not in p.types))
        for prop in addresses:
            line = _address_line(prop.text())
            if line:
                return line
        labels = sorted(self._all("LABEL"), key=_Property.pref_rank)
        return next((_one_line(unescape_text(p.text())) for p in labels if p.text().strip()), "")

    def _picture(self) -> None:
        for prop in self._all("PHOTO"):
            try:
                picture = _picture(prop)
            except ValueError as exc:
                self.warnings.append(f"line {prop.line}: photo dropped: {exc}")
                continue
            if picture is not None:
                self.contact.picture = picture
                return

    def _custom(self) -> None:
        nickname = unescape_text(self._first("NICKNAME")).strip()
        if nickname:
            self.contact.custom["nickname"] = nickname
        birthday = unescape_text(self._first("BDAY")).strip()
        if birthday:
            self.contact.custom["birthday"] = _iso_date(birthday)


def phone_kind(types: Iterable[str]) -> PhoneKind:
    """Map vCard TYPE values or labels (`work`, `CELL`, `_$!<Mobile>!$_`, `Work Fax`…) to a PhoneKind."""
    words = [word.lower() for word in types]

    def has(*needles: str) -> bool:
        return any(needle in word for word in words for needle in needles)

    if has("fax"):
        return PhoneKind.FAX
    if has("cell", "mobile", "iphone") or "car" in words:
        return PhoneKind.MOBILE
    if has("pager"):
        return PhoneKind.OTHER
    if has("work", "business"):
        return PhoneKind.BUSINESS
    if has("home"):
        return PhoneKind.HOME
    if "voice" in words:
        return PhoneKind.BUSINESS
    return PhoneKind.OTHER


def _apple_label(value: str) -> str:
    """`_$!<Mobile>!$_` → `mobile`; custom labels as they are, lower-cased."""
    label = unescape_text(value).strip()
    if label.startswith("_$!<") and label.endswith(">!$_"):
        label = label[4:-4]
    return label.lower()


def _phone_number(value: str) -> str:
    """The number as written; a 4.0 `tel:+1-418-656-9254;ext=102` URI becomes `+1-418-656-9254 ext. 102`."""
    number = value.strip()
    if number.lower().startswith("tel:"):
        number, *params = number[4:].split(";")
        extension = next((p[4:] for p in params if p.lower().startswith("ext=")), "")
        number = f"{number} ext. {extension}" if extension else number
    return number.strip()


def _email(prop: _Property) -> str:
    address = unescape_text(prop.text()).strip()
    return address[7:] if address.lower().startswith("mailto:") else address


def _name_list(component: str) -> str:
    """A name component; a 3.0 list (`Richter,James`) is joined with spaces."""
    return " ".join(item for item in (unescape_text(part).strip() for part in split_escaped(component, ",")) if item)


def _address_line(value: str) -> str:
    """ADR (PO box;extended;street;city;region;code;country) as one readable line."""
    parts = (_one_line(unescape_text(part)).strip(" ,") for part in split_escaped(value, ";"))
    return ", ".join(part for part in parts if part)


def _one_line(text: str) -> str:
    lines = (line.strip(" ,") for line in text.replace("\r", "\n").split("\n"))
    return ", ".join(line for line in lines if line)


def _clean_multiline(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _iso_date(value: str) -> str:
    """`19800322` → `1980-03-22`; any other form as written."""
    if re.fullmatch(r"\d{8}", value):
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _unique_phones(phones: Iterable[Phone]) -> list[Phone]:
    unique: dict[tuple[str, PhoneKind], Phone] = {}
    for phone in phones:
        if phone.number:
            unique.setdefault((phone.number, phone.kind), phone)
    return list(unique.values())


# --------------------------------------------------------------------------- photos


def _picture(prop: _Property) -> Picture | None:
    """The embedded photo (base64 or a data: URI); None for a photo given as a link or left empty."""
    value = prop.value.strip()
    match = _DATA_URI.fullmatch(value)
    if match:
        if ";base64" not in match.group(2).lower():
            raise ValueError("data: URI is not base64")
        data, declared = _base64(match.group(3)), match.group(1).lower()
    elif prop.encoding == _BASE64:
        data, declared = _base64(value), _mime_from_params(prop)
    else:
        return None
    if not data:
        return None
    return Picture(_sniff_image(data) or declared or "application/octet-stream", data)


def _base64(text: str) -> bytes:
    compact = re.sub(r"\s+", "", text)
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64 ({exc})") from exc


def _mime_from_params(prop: _Property) -> str:
    """`TYPE=JPEG`, 2.1 bare `JPEG`, `TYPE=image/png` or 4.0 `MEDIATYPE=image/png`."""
    for value in [*prop.params.get("MEDIATYPE", []), *prop.params.get("TYPE", [])]:
        word = value.strip().lower()
        if "/" in word:
            return word
        if word in _IMAGE_TYPES:
            return _IMAGE_TYPES[word]
    return ""


def _sniff_image(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return ""
