"""The cards every test address book starts with: a 3.0 card with a photo, a 4.0 card with a tel: URI, accents."""

from __future__ import annotations

from carddav_servers import RawDav

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
DANA = f"""BEGIN:VCARD
VERSION:3.0
UID:dana-whitfield
FN:Dana Whitfield
N:Whitfield;Dana;;;
ORG:Northwind Traders;Sales
TITLE:Head of Sales
TEL;TYPE=WORK,VOICE:(020) 7946-0958
TEL;TYPE=CELL:07700 900123
EMAIL;TYPE=INTERNET:dana.whitfield@northwind.example
NOTE:Prefers calls after 10am
PHOTO;ENCODING=b;TYPE=PNG:{PNG}
X-SOCIALPROFILE;TYPE=twitter:danaw
END:VCARD
"""
EAMON = """BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:7f0c4d3e-eamon
FN:Eamon O'Neill
N:O'Neill;Eamon;;;
ORG:Northwind Traders
TEL;VALUE=uri;TYPE=work:tel:+44-161-496-0789
EMAIL:eamon.oneill@northwind.example
END:VCARD
"""
ZOE = """BEGIN:VCARD
VERSION:3.0
UID:zoe-lefevre
FN:Zoë Lefèvre
N:Lefèvre;Zoë;;;
ORG:Société Contoso
TEL;TYPE=WORK,FAX:0033 1 42 68 53 00
TEL;TYPE=WORK:+1 212-736-5000
EMAIL:zoe@contoso.example
END:VCARD
"""
CARDS = {"dana-whitfield.vcf": DANA, "eamon.vcf": EAMON, "zoe-lefevre.vcf": ZOE}


def seed_book(raw: RawDav, path: str, cards: dict[str, str] | None = None) -> str:
    raw.make_addressbook(path, "Contacts " + path.strip("/").rpartition("/")[2][:8])
    for name, text in (CARDS if cards is None else cards).items():
        raw.put_card(path + name, text)
    return path
