"""Contact import: the real vCard exports in shared/data/vcards, and focused vCard / CSV cases."""

from __future__ import annotations

import base64
import csv
import io
import os
from pathlib import Path

import pytest

from partnercrmd.errors import BadRequest
from partnercrmd.importers import (
    looks_like_vcard,
    parse_vcards,
    parse_vcards_with_warnings,
    read_contacts_file,
    read_contacts_file_with_warnings,
)
from partnercrmd.model import Contact, Phone, PhoneKind

BUS = PhoneKind.BUSINESS
MOB = PhoneKind.MOBILE
HOM = PhoneKind.HOME
FAX = PhoneKind.FAX
OTH = PhoneKind.OTHER
JPEG_MAGIC = b"\xff\xd8\xff"


def _vcard_dir() -> Path | None:
    """shared/data/vcards beside the checkout, else under $PARTNERCRMD_SHARED."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "data" / "vcards"]
    shared = os.environ.get("PARTNERCRMD_SHARED")
    if shared:
        base = Path(shared)
        candidates += [base / "data" / "vcards", base / "vcards", base]
    return next((path for path in candidates if path.is_dir() and any(path.glob("*.vcf"))), None)


VCARD_DIR = _vcard_dir()
VCARD_FILES = sorted(VCARD_DIR.glob("*.vcf")) if VCARD_DIR else []


def _shared(name: str) -> Path:
    if VCARD_DIR is None:
        pytest.fail("shared/data/vcards not found (set PARTNERCRMD_SHARED to the shared directory)")
    return VCARD_DIR / name


def _read(name: str) -> tuple[list[Contact], list[str]]:
    return read_contacts_file_with_warnings(_shared(name))


def _one(name: str) -> Contact:
    contacts, warnings = _read(name)
    assert len(contacts) == 1, warnings
    assert warnings == []
    return contacts[0]


# --------------------------------------------------------------------------- the real exports


def test_shared_vcards_are_all_there() -> None:
    assert VCARD_DIR is not None, "shared/data/vcards not found (set PARTNERCRMD_SHARED)"
    assert len(VCARD_FILES) == 17


@pytest.mark.parametrize("path", VCARD_FILES or [None], ids=lambda p: p.name if p else "missing")
def test_every_shared_vcard_yields_named_contacts(path: Path | None) -> None:
    if path is None:
        pytest.fail("shared/data/vcards not found (set PARTNERCRMD_SHARED to the shared directory)")
    assert looks_like_vcard(path.read_bytes())
    contacts = read_contacts_file(path)
    assert contacts
    assert all(contact.name for contact in contacts)


def test_android_quoted_printable_soft_line_breaks() -> None:
    contacts, warnings = _read("John_Doe_ANDROID.vcf")
    assert len(contacts) == 6
    assert contacts[0].name == "john.doe@company.com"
    assert contacts[1].emails == ["jane.doe@company.com"]
    long_name = contacts[3]
    assert long_name.display_name == " ".join(["Ñ"] * 11)  # split over two lines by `=` soft breaks
    assert long_name.phones == [
        Phone("123456", MOB),
        Phone("234567", HOM),
        Phone("3456789", MOB),
        Phone("45678901", HOM),
    ]
    assert long_name.notes.startswith("Ñ Ñ Ñ Ñ Ñ Ñ Ñ ÑÑ Ñ")
    assert "\n" in long_name.notes  # two NOTE properties
    bob = contacts[4]
    assert bob.emails[0] == "bob@company.com"
    assert bob.company == "Ñ" * 12
    assert bob.phones == [Phone("123456", MOB), Phone("123456", BUS), Phone("123456", FAX)]
    assert bob.url == "www.company.com"
    assert contacts[5].company == "Ñ" * 44  # a soft break followed by an empty line
    assert bob.picture is None  # the sample's photo is truncated base64: dropped with a warning
    assert len(warnings) == 1 and "line 52: photo dropped" in warnings[0]


def test_blackberry() -> None:
    john = _one("John_Doe_BLACK_BERRY.vcf")
    assert (john.display_name, john.first_name, john.last_name) == ("John Doe", "john", "Doe")
    assert john.company == "Acme Solutions"
    assert john.phones == [Phone("+96123456789", MOB)]
    assert john.picture is not None and john.picture.mime_type == "image/jpeg"
    assert john.picture.data.startswith(JPEG_MAGIC)


def test_evolution_folding_in_the_middle_of_values() -> None:
    john = _one("John_Doe_EVOLUTION.vcf")
    assert (john.first_name, john.last_name) == ("John", "Doe")
    assert john.display_name == "Mr. John Richter, James Doe Sr."
    assert john.id == "477343c8e6bf375a9bac1f96a5000837"
    assert john.phones == [Phone("905-666-1234", MOB), Phone("905-555-1234", BUS)]
    assert john.emails == ["john.doe@ibm.com"]
    assert john.url == "http://www.ibm.com"
    assert (john.company, john.job_title) == ("IBM", "Money Counter")
    assert john.custom == {"department": "Accounting, Dungeon", "nickname": "Johny", "birthday": "1980-03-22"}
    assert john.address == "ASB-123, 15 Crescent moon drive, Albaney, New York, 12345, United States of America"
    assert "BUT NOT LIMITED TO, THE IMPLIED" in john.notes
    assert "SERVICES; LOSS OF USE" in john.notes


def test_gmail() -> None:
    john = _one("John_Doe_GMAIL.vcf")
    assert (john.first_name, john.last_name, john.company) == ("John", "Doe", "IBM")
    assert john.phones == [Phone("905-555-1234", MOB), Phone("905-666-1234", HOM)]
    assert john.emails == ["john.doe@ibm.com"]
    assert john.url == "http://www.ibm.com"
    assert john.address == "Crescent moon drive, 555-asd, Nice Area, Albaney, New York 12345, United States of America"
    assert 'CONTRIBUTORS "AS IS"' in john.notes
    assert john.notes.endswith("DAMAGE.\nFavotire Color: Blue")


def test_iphone_photo_and_grouped_phone() -> None:
    john = _one("John_Doe_IPHONE.vcf")
    assert (john.first_name, john.last_name, john.company) == ("John", "Doe", "IBM")
    assert john.phones == [
        Phone("905-555-1234", MOB),
        Phone("905-666-1234", HOM),
        Phone("905-777-1234", BUS),
        Phone("905-888-1234", FAX),
        Phone("905-999-1234", FAX),
        Phone("905-111-1234", OTH),  # pager
        Phone("905-222-1234", OTH),  # item2.TEL labelled AssistantPhone
    ]
    assert john.emails == ["john.doe@ibm.com"]
    assert john.address == "Silicon Alley 5, New York, New York, 12345, United States of America"
    assert john.custom["department"] == "Accounting"
    picture = john.picture
    assert picture is not None and picture.mime_type == "image/jpeg"
    assert picture.data[:3] == JPEG_MAGIC and picture.data[6:10] == b"JFIF"
    assert picture.data.endswith(b"\xff\xd9")
    assert len(picture.data) == 32531


def test_lotus_notes() -> None:
    john = _one("John_Doe_LOTUS_NOTES.vcf")
    assert (john.first_name, john.last_name) == ("John", "Doe")
    assert john.id == "0e7602cc-443e-4b82-b4b1-90f62f99a199"
    assert john.phones == [Phone("+1 (212) 204-34456", MOB), Phone("00-1-212-555-7777", FAX)]
    assert john.emails == ["john.doe@ibm.com", "billy_bob@gmail.com"]
    assert (john.company, john.job_title, john.url) == ("IBM", "Generic Accountant", "http://www.sun.com")
    assert john.custom["nickname"] == "Johny,JayJay"
    assert john.notes.startswith('THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"\nAND')
    assert john.picture is not None and john.picture.data.startswith(JPEG_MAGIC)


def test_mac_address_book_bare_base64_photo() -> None:
    john = _one("John_Doe_MAC_ADDRESS_BOOK.vcf")
    assert (john.first_name, john.last_name) == ("John", "Doe")
    assert john.display_name == "Mr. John Richter,James Doe Sr."
    assert len(john.phones) == 7
    assert john.phones[0] == Phone("905-777-1234", BUS)
    assert Phone("905-222-1234", OTH) in john.phones
    assert john.emails == ["john.doe@ibm.com"]
    picture = john.picture
    assert picture is not None and picture.mime_type == "image/jpeg"
    assert picture.data.startswith(JPEG_MAGIC) and len(picture.data) == 18242


def test_ms_outlook() -> None:
    john = _one("John_Doe_MS_OUTLOOK.vcf")
    assert (john.first_name, john.last_name) == ("John", "Doe")
    assert john.phones == [Phone("(905) 555-1234", BUS), Phone("(905) 666-1234", HOM)]
    assert john.emails == ["john.doe@ibm.cm"]  # sic
    assert john.address == "Cresent moon drive, Albaney, New York, 12345, United States of America"
    assert john.custom["birthday"] == "1980-03-22"
    assert john.picture is not None and john.picture.data.startswith(JPEG_MAGIC)


def test_outlook_2003_note_split_inside_an_escape() -> None:
    john = _one("outlook-2003.vcf")
    assert john.notes == "This is the note field!!\nSecond line\n\nThird line is empty"
    assert john.company == "Company, The"
    assert john.phones[0] == Phone("BusinessPhone", BUS)
    assert john.emails == ["jdoe@hotmail.com"]


def test_outlook_2007() -> None:
    mike = _one("outlook-2007.vcf")
    assert mike.name == "Mr. Michael Angstadt Jr."
    assert mike.notes.splitlines() == [
        "This is the NOTE field",
        "I assume it encodes this text inside a NOTE vCard type.",
        "But I'm not sure because there's text formatting going on here.",
        "It does not preserve the formatting",
    ]
    assert mike.phones == [
        Phone("(111) 555-1111", BUS),
        Phone("(111) 555-2222", HOM),
        Phone("(111) 555-4444", MOB),
        Phone("(111) 555-3333", FAX),
    ]


def test_rfc_examples() -> None:
    frank, tim = read_contacts_file(_shared("rfc2426-example.vcf"))
    assert frank.name == "Frank Dawson" and tim.name == "Tim Howes"
    assert frank.phones == [Phone("+1-919-676-9515", BUS), Phone("+1-919-676-9564", FAX)]
    assert frank.emails == ["Frank_Dawson@Lotus.com", "fdawson@earthlink.net"]
    assert tim.address == "501 E. Middlefield Rd., Mountain View, CA, 94043, U.S.A."
    simon = _one("rfc6350-example.vcf")
    assert simon.phones == [Phone("+1-418-656-9254 ext. 102", BUS), Phone("+1-418-262-6501", MOB)]


def test_other_exports() -> None:
    assert [c.name for c in read_contacts_file(_shared("gmail-list.vcf"))] == [
        "Arnold Smith",
        "Chris Beatle",
        "Doug White",
    ]
    thunderbird = _one("thunderbird-MoreFunctionsForAddressBook-extension.vcf")
    assert (thunderbird.first_name, thunderbird.last_name) == ("John", "Doe")
    assert len(thunderbird.emails) == 5 and thunderbird.phones[-1] == Phone("555-555-4444", OTH)
    fullcontact = _one("fullcontact.vcf")
    assert len(fullcontact.phones) == 9 and fullcontact.picture is None  # photos are links


# --------------------------------------------------------------------------- vCard details


def _lines(*lines: str, eol: str = "\n") -> str:
    return eol.join(lines)


def _card(*lines: str, version: str = "3.0", eol: str = "\r\n") -> str:
    return eol.join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD", ""])


def test_quoted_printable_soft_line_breaks_and_charsets() -> None:
    text = _card(
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCl=",
        "ler;J=C3=B6rg;;;",
        "NOTE;ENCODING=QUOTED-PRINTABLE:Line 1=0D=0A=",
        "Line 2 costs 5 =80=0D=",
        "=0ALine 3",
        "ORG;QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Caf=E9 Ltd",
        version="2.1",
    )
    contact = parse_vcards(text)[0]
    assert (contact.first_name, contact.last_name) == ("Jörg", "Müller")
    assert contact.notes == "Line 1\nLine 2 costs 5 €\nLine 3"  # undeclared charset, not UTF-8: cp1252
    assert contact.company == "Café Ltd"


def test_folding_with_space_tab_crlf_and_lf() -> None:
    text = _card("FN:Jo", " hn Smi", "\tth", "NOTE:one ", " two", eol="\n")
    contact = parse_vcards(text)[0]
    assert contact.display_name == "John Smith"
    assert contact.notes == "one two"
    assert parse_vcards(text.replace("\n", "\r\n")) == [contact]
    assert parse_vcards(text.replace("\n", "\r\r\n")) == [contact]  # as in the iPhone export


def test_escapes() -> None:
    text = _card(
        r"FN:Smith\, Jones \\ Co",
        r"N:O\;Brien;Pat;;;",
        r"ORG:Smith\, Jones;Sales;EMEA",
        r"NOTE:a\,b\;c\nd\Ne\\n",
        r"URL:http\://example.com",
    )
    contact = parse_vcards(text)[0]
    assert contact.display_name == "Smith, Jones \\ Co"
    assert contact.last_name == "O;Brien"
    assert contact.company == "Smith, Jones"
    assert contact.custom["department"] == "Sales, EMEA"
    assert contact.notes == "a,b;c\nd\ne\\n"
    assert contact.url == "http://example.com"


def test_grouped_properties_use_their_label() -> None:
    text = _card(
        "FN:Grouped",
        "item1.TEL:+1 555 0101",
        "item1.X-ABLabel:_$!<Mobile>!$_",
        "item2.TEL:+1 555 0102",
        "item2.X-ABLabel:_$!<HomeFAX>!$_",
        "ITEM3.TEL:+1 555 0103",
        "item3.X-ABLabel:iPhone",
        "item4.TEL:+1 555 0104",
        "item4.EMAIL;type=INTERNET:grouped@example.com",
    )
    contact = parse_vcards(text)[0]
    assert contact.phones == [
        Phone("+1 555 0101", MOB),
        Phone("+1 555 0102", FAX),
        Phone("+1 555 0103", MOB),
        Phone("+1 555 0104", OTH),
    ]
    assert contact.emails == ["grouped@example.com"]


def test_type_parameter_styles() -> None:
    text = _card(
        "FN:Types",
        "TEL;WORK;VOICE:1",
        "TEL;TYPE=home,voice:2",
        'TEL;TYPE="cell,voice":3',
        "TEL;type=WORK;type=FAX:4",
        "TEL;TYPE=PAGER:5",
        "TEL:6",
        "TEL;TYPE=voice:7",
    )
    assert [phone.kind for phone in parse_vcards(text)[0].phones] == [BUS, HOM, MOB, FAX, OTH, OTH, BUS]


def test_vcard4_tel_uris_and_pref() -> None:
    text = _card(
        "FN:Four",
        "TEL;VALUE=uri;TYPE=cell:tel:+44-20-7946-0000",
        'TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+1-555-0100;ext=7',
        "EMAIL:second@example.com",
        "EMAIL;PREF=1:first@example.com",
        version="4.0",
    )
    contact = parse_vcards(text)[0]
    assert contact.phones == [Phone("+1-555-0100 ext. 7", BUS), Phone("+44-20-7946-0000", MOB)]
    assert contact.emails == ["first@example.com", "second@example.com"]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
GIF = b"GIF89a" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(80))


def _fold(data: bytes, width: int = 40) -> list[str]:
    encoded = base64.b64encode(data).decode("ascii")
    return [encoded[i : i + width] for i in range(0, len(encoded), width)]


def test_base64_photo_folded_3_0() -> None:
    first, *rest = _fold(PNG)
    contact = parse_vcards(_card("FN:Photo", f"PHOTO;ENCODING=b;TYPE=PNG:{first}", *(" " + line for line in rest)))[0]
    assert contact.picture is not None
    assert (contact.picture.mime_type, contact.picture.data) == ("image/png", PNG)


def test_base64_photo_2_1_unindented_and_blank_line_terminated() -> None:
    text = _card("FN:Photo", "PHOTO;ENCODING=BASE64;TYPE=GIF:", *_fold(JPEG), "", "TEL:123", version="2.1")
    contact = parse_vcards(text)[0]
    assert contact.picture is not None
    assert (contact.picture.mime_type, contact.picture.data) == ("image/jpeg", JPEG)  # the bytes say JPEG
    assert contact.phones == [Phone("123", OTH)]


def test_data_uri_photo_and_bad_photo() -> None:
    uri = "data:image/gif;base64," + base64.b64encode(GIF).decode("ascii")
    contact = parse_vcards(_card("FN:Photo", f"PHOTO:{uri}", version="4.0"))[0]
    assert contact.picture is not None and (contact.picture.mime_type, contact.picture.data) == (
        "image/gif",
        GIF,
    )
    contacts, warnings = parse_vcards_with_warnings(_card("FN:Bad photo", "PHOTO;ENCODING=b;TYPE=JPEG:@@@@"))
    assert contacts[0].name == "Bad photo" and contacts[0].picture is None
    assert warnings == ["line 4: photo dropped: invalid base64 (Only base64 data is allowed)"]


def test_broken_card_between_two_good_ones_is_skipped_with_a_warning() -> None:
    text = (
        _card("FN:First Good", "TEL:111")
        + _card("FN:Broken", "this line is not a property", "TEL:222")
        + _card("FN:Second Good", "TEL:333")
    )
    contacts, warnings = parse_vcards_with_warnings(text)
    assert [contact.name for contact in contacts] == ["First Good", "Second Good"]
    assert len(warnings) == 1
    assert warnings[0].startswith("line 6: vCard skipped: line 9 is not a vCard property")


def test_unterminated_and_empty_cards() -> None:
    text = _lines(
        "BEGIN:VCARD",
        "FN:No end",
        "BEGIN:VCARD",
        "FN:Fine",
        "END:VCARD",
        "BEGIN:VCARD",
        "NOTE:nothing to call it",
        "END:VCARD",
        "BEGIN:VCARD",
        "FN:Truncated",
    )
    contacts, warnings = parse_vcards_with_warnings(text)
    assert [contact.name for contact in contacts] == ["Fine"]
    assert warnings == [
        "line 1: vCard skipped: no END:VCARD before the BEGIN:VCARD on line 3",
        "line 6: vCard skipped: it has no name, organisation, email or phone number",
        "line 9: vCard skipped: the file ends before END:VCARD",
    ]


def test_nested_agent_card_is_not_a_contact() -> None:
    text = _card("FN:Boss", "AGENT:", "BEGIN:VCARD", "FN:Assistant", "END:VCARD", "TEL:1", version="2.1")
    contacts, warnings = parse_vcards_with_warnings(text)
    assert [(c.name, c.phones) for c in contacts] == [("Boss", [Phone("1", OTH)])] and warnings == []


def test_company_only_card_and_uid() -> None:
    contact = parse_vcards(_card("N:;;;;", "FN:Acme Inc", "ORG:Acme Inc", "UID:urn:uuid:1234"))[0]
    assert (contact.name, contact.company, contact.id, contact.first_name) == (
        "Acme Inc",
        "Acme Inc",
        "urn:uuid:1234",
        "",
    )
    no_fn = parse_vcards(_card("ORG:Acme Inc"))[0]
    assert (no_fn.display_name, no_fn.name) == ("", "Acme Inc")


def test_vcard_file_encodings(tmp_path: Path) -> None:
    cp1252 = tmp_path / "cp1252.vcf"
    cp1252.write_bytes(_card("FN:Jürgen Müller \u2013 Büro", version="2.1").encode("cp1252"))
    assert read_contacts_file(cp1252)[0].display_name == "Jürgen Müller \u2013 Büro"
    latin1 = tmp_path / "latin1.vcf"
    latin1.write_bytes(_card("FN;CHARSET=ISO-8859-1:Françoise", version="2.1").encode("latin-1"))
    assert read_contacts_file(latin1)[0].display_name == "Françoise"
    bom = tmp_path / "bom.vcf"
    bom.write_bytes(b"\xef\xbb\xbf" + _card("FN:Zoë").encode("utf-8"))
    assert read_contacts_file(bom)[0].display_name == "Zoë"
    utf16 = tmp_path / "utf16.vcf"
    utf16.write_bytes(_card("FN:Łukasz").encode("utf-16"))
    assert read_contacts_file(utf16)[0].display_name == "Łukasz"


def test_vcard_file_without_contacts_is_a_bad_request(tmp_path: Path) -> None:
    path = tmp_path / "broken.vcf"
    path.write_text("BEGIN:VCARD\nFN:Truncated\n", encoding="utf-8")
    with pytest.raises(BadRequest, match=r"broken\.vcf.*line 1: vCard skipped: the file ends before END:VCARD"):
        read_contacts_file(path)
    contacts, warnings = read_contacts_file_with_warnings(_write(tmp_path, "warn.vcf", _card("FN:A") + "BEGIN:VCARD\n"))
    assert [c.name for c in contacts] == ["A"] and warnings[0].startswith(f"{tmp_path / 'warn.vcf'}: line 5:")
    with pytest.raises(BadRequest, match="cannot read"):
        read_contacts_file(tmp_path / "missing.vcf")


# --------------------------------------------------------------------------- CSV


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _csv(columns: list[str], *rows: dict[str, str], delimiter: str = ",", eol: str = "\r\n") -> str:
    """A CSV export as the applications write it: every field quoted, one record per row dict."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator=eol)
    writer.writerow(columns)
    writer.writerows([row.get(column, "") for column in columns] for row in rows)
    return out.getvalue()


OUTLOOK_COLUMNS = [
    *("Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department", "Job Title"),
    *("Business Street", "Business Street 2", "Business City", "Business State", "Business Postal Code"),
    *("Business Country/Region", "Home Street", "Home City", "Business Fax", "Business Phone", "Home Phone"),
    *("Mobile Phone", "Primary Phone", "Birthday", "E-mail Address", "E-mail Type", "E-mail 2 Address"),
    *("Notes", "Web Page"),
]
OUTLOOK_JOHN = {
    "Title": "Mr.",
    "First Name": "John",
    "Last Name": "Doe",
    "Company": "Acme, Inc.",
    "Department": "Sales",
    "Job Title": "Buyer",
    "Business Street": "1 Main St",
    "Business Street 2": "Floor 2",
    "Business City": "Springfield",
    "Business State": "IL",
    "Business Postal Code": "62701",
    "Business Country/Region": "United States",
    "Business Fax": "+1 555 0199",
    "Business Phone": "+1 555 0100",
    "Home Phone": "+1 555 0111",
    "Mobile Phone": "+1 555 0122",
    "Primary Phone": "+1 555 0100",
    "Birthday": "0/0/00",
    "E-mail Address": "john@acme.example",
    "E-mail Type": "SMTP",
    "E-mail 2 Address": "/o=ExchangeLabs/ou=x/cn=john",
    "Notes": "Line one\r\nLine two",
    "Web Page": "acme.example",
}


def test_outlook_csv(tmp_path: Path) -> None:
    text = _csv(OUTLOOK_COLUMNS, OUTLOOK_JOHN, {}, {"Notes": "just a note"})
    text += '"","Jane","","Roe","","","","","","","","","","","9 Home Rd","Shelbyville"\r\n'  # a short record
    contacts, warnings = read_contacts_file_with_warnings(_write(tmp_path, "outlook.csv", text))
    john, jane = contacts
    assert (john.first_name, john.last_name, john.name) == ("John", "Doe", "John Doe")
    assert (john.company, john.job_title, john.custom) == ("Acme, Inc.", "Buyer", {"department": "Sales"})
    assert john.phones == [
        Phone("+1 555 0100", BUS),
        Phone("+1 555 0122", MOB),
        Phone("+1 555 0111", HOM),
        Phone("+1 555 0199", FAX),
    ]
    assert john.emails == ["john@acme.example"]  # the Exchange-internal address is left out
    assert john.address == "1 Main St, Floor 2, Springfield, IL, 62701, United States"
    assert (john.notes, john.url) == ("Line one\nLine two", "acme.example")
    assert (jane.name, jane.address, jane.phones) == ("Jane Roe", "9 Home Rd, Shelbyville", [])
    assert warnings == [f"{tmp_path / 'outlook.csv'}: line 5: row skipped: no name, company, email or phone"]


def test_semicolon_outlook_csv_in_cp1252(tmp_path: Path) -> None:
    columns = ["First Name", "Last Name", "Company", "Business Phone", "E-mail Address", "Notes"]
    row = {
        "First Name": "Jürgen",
        "Last Name": "Müller",
        "Company": "Bäckerei Grün, Söhne",
        "Business Phone": "+49 30 1234567",
        "E-mail Address": "jm@example.de",
        "Notes": "Preis: 5 \u20ac \u2013 bar",
    }
    path = _write(tmp_path, "outlook-de.csv", _csv(columns, row, delimiter=";"), encoding="cp1252")
    (contact,) = read_contacts_file(path)
    assert (contact.first_name, contact.last_name) == ("Jürgen", "Müller")
    assert contact.company == "Bäckerei Grün, Söhne"
    assert contact.phones == [Phone("+49 30 1234567", BUS)] and contact.emails == ["jm@example.de"]
    assert contact.notes == "Preis: 5 \u20ac \u2013 bar"


GOOGLE_OLD_COLUMNS = [
    *("Name", "Given Name", "Additional Name", "Family Name", "Nickname", "Birthday", "Notes"),
    *("Group Membership", "E-mail 1 - Type", "E-mail 1 - Value", "E-mail 2 - Type", "E-mail 2 - Value"),
    *("Phone 1 - Type", "Phone 1 - Value", "Phone 2 - Type", "Phone 2 - Value", "Phone 3 - Type"),
    *("Phone 3 - Value", "Address 1 - Type", "Address 1 - Formatted", "Organization 1 - Type"),
    *("Organization 1 - Name", "Organization 1 - Title", "Organization 1 - Department"),
    *("Website 1 - Type", "Website 1 - Value"),
]


def test_google_csv_old_layout(tmp_path: Path) -> None:
    ann = {
        "Name": "Ann Example",
        "Given Name": "Ann",
        "Family Name": "Example",
        "Nickname": "Annie",
        "Birthday": "1985-04-02",
        "Notes": "Met at fair",
        "Group Membership": "* myContacts",
        "E-mail 1 - Type": "* Work",
        "E-mail 1 - Value": "ann@work.example ::: ann@other.example",
        "E-mail 2 - Type": "Home",
        "E-mail 2 - Value": "ann@home.example",
        "Phone 1 - Type": "* Mobile",
        "Phone 1 - Value": "+1 555 0001 ::: +1 555 0002",
        "Phone 2 - Type": "Work Fax",
        "Phone 2 - Value": "+1 555 0003",
        "Phone 3 - Type": "Main",
        "Phone 3 - Value": "+1 555 0004",
        "Address 1 - Type": "Work",
        "Address 1 - Formatted": "1 Work St\nSpringfield, IL 62701",
        "Organization 1 - Name": "Example Co",
        "Organization 1 - Title": "CTO",
        "Organization 1 - Department": "R&D",
        "Website 1 - Type": "Profile",
        "Website 1 - Value": "https://ann.example",
    }
    text = _csv(GOOGLE_OLD_COLUMNS, ann, {}, eol="\n")
    (contact,) = read_contacts_file(_write(tmp_path, "google.csv", text, encoding="utf-16"))
    assert (contact.display_name, contact.first_name, contact.last_name) == ("Ann Example", "Ann", "Example")
    assert contact.emails == ["ann@work.example", "ann@other.example", "ann@home.example"]
    assert contact.phones == [
        Phone("+1 555 0001", MOB),
        Phone("+1 555 0002", MOB),
        Phone("+1 555 0003", FAX),
        Phone("+1 555 0004", OTH),
    ]
    assert (contact.company, contact.job_title, contact.url) == ("Example Co", "CTO", "https://ann.example")
    assert contact.address == "1 Work St, Springfield, IL 62701"
    assert contact.custom == {"department": "R&D", "nickname": "Annie", "birthday": "1985-04-02"}
    assert contact.notes == "Met at fair"


GOOGLE_NEW_COLUMNS = [
    *("First Name", "Middle Name", "Last Name", "Phonetic First Name", "Name Prefix", "Nickname", "File As"),
    *("Organization Name", "Organization Title", "Organization Department", "Birthday", "Notes", "Labels"),
    *("E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label"),
    *("Phone 2 - Value", "Address 1 - Label", "Address 1 - Street", "Address 1 - City"),
    *("Address 1 - Postal Code", "Address 1 - Country", "Website 1 - Label", "Website 1 - Value"),
]


def test_google_csv_new_layout(tmp_path: Path) -> None:
    bob = {
        "First Name": "Bob",
        "Middle Name": "Q",
        "Last Name": "Builder",
        "Organization Name": "Builder Ltd",
        "Organization Title": "Owner",
        "Labels": "* myContacts",
        "E-mail 1 - Label": "* Work",
        "E-mail 1 - Value": "bob@builder.example",
        "Phone 1 - Label": "Work",
        "Phone 1 - Value": "+44 20 7946 0001",
        "Phone 2 - Label": "Home",
        "Phone 2 - Value": "+44 20 7946 0002 ::: +44 20 7946 0003",
        "Address 1 - Label": "Work",
        "Address 1 - Street": "2 Site Rd",
        "Address 1 - City": "London",
        "Address 1 - Postal Code": "E1 6AN",
        "Address 1 - Country": "UK",
    }
    text = "\ufeff" + _csv(GOOGLE_NEW_COLUMNS, bob, {"Organization Name": "Nameless Org"})
    first, second = read_contacts_file(_write(tmp_path, "contacts.csv", text))
    assert (first.first_name, first.last_name, first.display_name) == ("Bob", "Builder", "")
    assert (first.name, first.company, first.job_title) == ("Bob Builder", "Builder Ltd", "Owner")
    assert first.emails == ["bob@builder.example"]
    assert first.phones == [
        Phone("+44 20 7946 0001", BUS),
        Phone("+44 20 7946 0002", HOM),
        Phone("+44 20 7946 0003", HOM),
    ]
    assert first.address == "2 Site Rd, London, E1 6AN, UK"
    assert second.name == "Nameless Org"


def test_unknown_csv_layout_names_the_expected_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "weird.csv", "Foo,Bar,Baz\n1,2,3\n")
    with pytest.raises(BadRequest) as caught:
        read_contacts_file(path)
    message = caught.value.message
    assert str(path) in message and "Foo, Bar, Baz" in message
    assert "First Name" in message and "E-mail Address" in message and "E-mail 1 - Value" in message


def test_read_contacts_file_chooses_by_content(tmp_path: Path) -> None:
    vcard = _write(tmp_path, "contacts.csv", "\n\n  " + _card("FN:Really a vCard"))
    assert read_contacts_file(vcard)[0].name == "Really a vCard"
    csv_file = _write(tmp_path, "contacts.vcf", "First Name,Last Name,Company\nA,B,C\n")
    assert read_contacts_file(csv_file)[0].name == "A B"
    with pytest.raises(BadRequest, match="is empty"):
        read_contacts_file(_write(tmp_path, "empty.csv", " \n"))
