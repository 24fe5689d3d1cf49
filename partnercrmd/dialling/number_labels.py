"""Words that say whether a digit string is a phone number: labels (Tel., Handy, ☎) and anti-labels (Order ID).

Used by `detect` on the text just before a candidate (the same line, or the
previous line when the candidate starts a line), on the text just after it
("4155550132 (mobile)"), and on the header of CSV-like text (a `Phone` column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_LABEL_WORDS = (
    # English
    r"tel|tele?phone|phone|ph|phones|mobile|mob|cell|cellphone|cell\s?phone|cellular|fax|facsimile|call|call\s+us"
    r"|call\s+me|calling|ring|dial|hotline|helpline|switchboard|direct\s+line|direct\s+dial|direct|ddi|landline"
    r"|office|home|work|voice|voicemail|whatsapp|signal|sms|text|txt|toll[\s-]?free|freephone|reception|main\s+line"
    r"|contact\s+number|phone\s+number|mobile\s+number|caller\s+id"
    r"|(?:my|his|her|our|their|your|new|direct|private)\s+(?:new\s+)?(?:no|number|#)|reach\s+(?:me|us)(?:\s+(?:at|on))?"
    # French
    r"|t[ée]l|t[ée]l[ée]phone|portable|fixe|standard|appelez(?:-nous)?|joindre|num[ée]ro\s+de\s+t[ée]l[ée]phone"
    # German (Telefonnummer & co. are labels even though other …nummer words are anti-labels)
    r"|telefon|telefonnummer|telefonnr|tel\.?-?nr|handy|handynummer|mobil|mobilnummer|mobilfunk|rufnummer|faxnummer|faxnr|handynr|mobilnr"
    r"|telefax|durchwahl|zentrale|anrufen|erreichbar"
    # Spanish, Portuguese, Italian
    r"|tel[ée]fono|m[óo]vil|celular|cel|fijo|ll[áa]ma(?:me|nos)|ll[áa]me(?:nos)?|llamar|telefone|telem[óo]vel|liga|ligue"
    r"|telefono|cellulare|chiama(?:ci|re)?|numero\s+di\s+telefono"
    # Dutch, Scandinavian, Polish, Czech, Turkish, Russian
    r"|telefoon|mobiel|gsm|bel|tlf|puh|puhelin|matkapuhelin|mobiltelefon|ring\s+oss|kom|kom[óo]rka|tel\.?\s?kom|cep|тел|телефон|моб"
    r"|мобильный|факс"
)
_LABEL_SYMBOLS = r"☎|☏|📞|📱|✆|📠|電話|电话|携帯|手机|手機|傳真|传真"
_SINGLE_LETTER = r"(?<![\w.])[TtMmFfPpOoDdHhCc]\s?:"
"""Signature labels: "T: …", "M: …" (only with a colon: "M. Dupont" is a name)."""

_ANTI_WORDS = (
    r"id|ids|ident|ticket|case|order|orders|invoice|inv|receipt|transaction|txn|trans|account|acct|acc|customer"
    r"|client|member|membership|policy|claim|serial|s/n|sn|imei|isbn|issn|ean|upc|gtin|sku|part|item|article|art"
    r"|model|tracking|track|shipment|consignment|parcel|package|awb|waybill|po|p\.o|purchase\s+order|booking"
    r"|reservation|confirmation|pnr|voucher|coupon|code|pin|otp|passcode|password|zip|postcode|postal\s+code|plz"
    r"|vat|tax|tin|ein|ssn|nin|nino|iban|bic|swift|sort\s+code|routing|aba|card|batch|lot|version|ver|build|release"
    r"|rev|revision|firmware|patent|doc|document|file|report|record|registration|reg|licen[cs]e|permit|passport"
    r"|vin|hash|checksum|ip|port|pid|uid|user|employee|student|badge|seat|ref|reference|job|request|req|incident"
    r"|issue|bug|pr|commit|isin|cusip|duns|abn|acn|gst|cvr|kvk|siret|siren|nif|cif|dni|nie|rfc|cpf|cnpj|aadhaar"
    # German, French, Spanish, Italian, Dutch
    r"|contract|vertrag|contrat|contrato|contratto|sinistre|schaden|mandat|mandate"
    r"|bestellung|rechnung|auftrag|vorgang|referenz|konto|kunde|aktenzeichen|az|ust-?idnr|steuer-?id"
    r"|facture|commande|r[ée]f[ée]rence|r[ée]f|dossier|colis|compte|client|n°\s?client"
    r"|pedido|factura|referencia|cuenta|expediente|env[íi]o|ordine|fattura|riferimento|pratica|conto"
    r"|codice\s+fiscale|p\.?\s?iva|partita\s+iva|bestelling|factuur|klantnummer|referentie|zending"
    r"|btw|tva|mwst|ust|org\.?\s?nr|cvr|ičo|ico|nip|regon|pesel|kvk|abn|cnpj|cpf|gstin|pan"
    r"|[a-zäöüß]+(?:nummer|nr)"
)
_QUALIFIERS = (
    r"(?:is|are|was|lautet|ist|est|es|è|är|er"  # "Order number is …", "Bestellnummer lautet …"
    r"|no|nos|nr|n|n[º°o]|num|number|numbers|nummer|num[ée]ro|n[úu]mero|numero|#|№|id|code|ref|de|:|\.|-)"
)
"""Words that may stand between an anti-label and the number it names."""

_LABEL = re.compile(rf"(?<!\w)(?:{_LABEL_WORDS})(?!\w)|{_LABEL_SYMBOLS}|{_SINGLE_LETTER}", re.IGNORECASE)
_ANTI = re.compile(rf"(?<!\w)(?:{_ANTI_WORDS})(?!\w)", re.IGNORECASE)
_ONLY_QUALIFIERS = re.compile(rf"^(?:[\s:#.=\-–/(\[]|{_QUALIFIERS}(?!\w))*$", re.IGNORECASE)
_LABEL_AFTER = re.compile(rf"^\s*(?:[(\[]\s*|[-–/|]\s*)(?:{_LABEL_WORDS}|[mwhofc])\s*[)\]]?(?!\w)", re.IGNORECASE)

_NOTE = re.compile(r"\([^()]{0,30}\)")
"""A short note in brackets after a heading's label: "Mobile (evenings):"."""

GAP = 40
"""How far before a candidate a label may stand ("Mobile (after 6 pm, weekdays): …")."""


class Context(Enum):
    LABEL = "label"
    ANTI_LABEL = "anti-label"
    NONE = "none"


def context_before(before: str) -> tuple[Context, str]:
    """What the text just before a candidate says about it, and the word that says so.

    An anti-label counts only when nothing but qualifiers and punctuation
    stand between it and the number ("Order no.: 4155550132"); a label counts
    when no anti-label follows it ("Phone: …", "Call us free on …").
    """
    labels = [m for m in _LABEL.finditer(before)]
    antis = [m for m in _ANTI.finditer(before) if not any(_overlaps(m, label) for label in labels)]
    if antis and _ONLY_QUALIFIERS.match(before[antis[-1].end() :]):
        return Context.ANTI_LABEL, antis[-1].group()
    if labels and (not antis or labels[-1].start() > antis[-1].start()):
        return Context.LABEL, labels[-1].group()
    return Context.NONE, ""


def context_of_heading(line: str) -> tuple[Context, str]:
    """What a line that ends in a label ("Phone:", "Order no.") says about the number starting the next line.

    Not a line of fields: the last column of a CSV header labels that column only.
    """
    if any(delimiter in line for delimiter in _DELIMITERS):
        return Context.NONE, ""
    context, word = context_before(line)
    ends = [m.end() for m in (_LABEL if context is Context.LABEL else _ANTI).finditer(line)]
    if context is Context.NONE or not ends or not _ONLY_QUALIFIERS.match(_NOTE.sub("", line[ends[-1] :])):
        return Context.NONE, ""
    return context, word


def label_after(after: str) -> bool:
    """A label right after the number: "4155550132 (mobile)", "… - cell"."""
    return bool(_LABEL_AFTER.match(after))


def _overlaps(a: re.Match[str], b: re.Match[str]) -> bool:
    return a.start() < b.end() and b.start() < a.end()


_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class CsvColumns:
    """Column names of CSV-like text, from the first line of its block, for cells that carry no label of their own."""

    delimiter: str
    names: tuple[str, ...]

    @classmethod
    def from_line(cls, first: str) -> CsvColumns | None:
        """The header a block of text starts with, when `first` looks like one (fields, no numbers, a label)."""
        first = first[:2000]
        counts = {d: first.count(d) for d in _DELIMITERS}
        delimiter = max(counts, key=lambda d: counts[d])
        if counts[delimiter] == 0 or sum(c.isdigit() for c in first) > 3 * counts[delimiter]:
            return None
        names = tuple(name.strip().strip('"').strip() for name in first.split(delimiter))
        if not any(_LABEL.search(name) or _ANTI.search(name) for name in names):
            return None
        return cls(delimiter, names)

    def context(self, line: str, offset: int) -> tuple[Context, str]:
        """What the column holding `line[offset]` says, if `line` has as many fields as the header."""
        if _split_count(line, self.delimiter) != len(self.names) - 1:
            return Context.NONE, ""
        name = self.names[_split_count(line[:offset], self.delimiter)]
        if _LABEL.search(name):
            return Context.LABEL, name
        if _ANTI.search(name):
            return Context.ANTI_LABEL, name
        return Context.NONE, ""


def _split_count(text: str, delimiter: str) -> int:
    """Delimiters outside double quotes."""
    count, quoted = 0, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count
