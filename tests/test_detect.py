"""Number detection: the acceptance corpus (precision and recall), each context rule, long texts and the CLI.

The corpus (tests/data/detection_corpus.json) holds real-world-style snippets, each
with the reader's region and the exact numbers that should be offered. The unit
tests below pin each rule of docs/number-detection.md on its own.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from phonenumbers import Leniency, PhoneNumberMatcher

from partnercrmd.dialling.detect import SEGMENT, FoundNumber, explain, find_numbers, normalise, parse_one
from partnercrmd.dialling.lookalikes import lookalike, mask
from partnercrmd.dialling.rules import DiallingRules
from tests.daemon_process import COMMAND, partnercrmd_env

CORPUS = Path(__file__).parent / "data" / "detection_corpus.json"
MIN_PRECISION = 0.99
MIN_RECALL = 0.98


def written(found: FoundNumber) -> str:
    """A found number the way the corpus and `partnercrmd numbers` write it."""
    return found.e164 + (f";ext={found.extension}" if found.extension else "")


def offered(text: str, region: str) -> list[str]:
    return [written(f) for f in find_numbers(text, region)]


def plain_matcher(text: str, region: str) -> list[str]:
    """What libphonenumber's matcher alone offers (the behaviour the context rules correct)."""
    matches = PhoneNumberMatcher(text, region, leniency=Leniency.VALID, min_candidate_length=7)
    return [phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164) for m in matches]


# --- the acceptance corpus --------------------------------------------------------------------------------------


def corpus() -> list[dict[str, Any]]:
    snippets: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))["snippets"]
    return snippets


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        return self.true_positives / max(1, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        return self.true_positives / max(1, self.true_positives + self.false_negatives)


def score_corpus() -> tuple[Score, list[str]]:
    """Precision and recall over the corpus, and a line for each snippet that was not detected exactly."""
    score, misses = Score(), []
    for snippet in corpus():
        found, expected = offered(snippet["text"], snippet["region"]), snippet["expected"]
        score.true_positives += len(set(found) & set(expected))
        score.false_positives += len(set(found) - set(expected))
        score.false_negatives += len(set(expected) - set(found))
        if set(found) != set(expected):
            misses.append(f"{snippet['id']}: expected {expected}, offered {found}")
    return score, misses


def test_corpus_is_large_varied_and_valid() -> None:
    snippets = corpus()
    assert len(snippets) >= 100
    kinds = {s["kind"] for s in snippets}
    assert {"signature", "web", "document", "csv", "chat", "negative"} <= kinds
    assert len({s["region"] for s in snippets}) >= 20
    assert sum(1 for s in snippets if not s["expected"]) >= 50
    assert len({s["id"] for s in snippets}) == len(snippets)
    for snippet in snippets:
        for number in snippet["expected"]:
            assert phonenumbers.is_valid_number(phonenumbers.parse(number.split(";")[0], None)), snippet["id"]


def test_corpus_precision_and_recall() -> None:
    score, misses = score_corpus()
    print(
        f"\ndetection corpus: {len(corpus())} snippets, precision {score.precision:.4f}, recall {score.recall:.4f} "
        f"({score.true_positives} right, {score.false_positives} wrong, {score.false_negatives} missed)"
    )
    print("\n".join(misses))
    assert score.precision >= MIN_PRECISION
    assert score.recall >= MIN_RECALL


def test_numbers_come_in_order_with_their_place_in_the_text() -> None:
    for snippet in corpus():
        text = snippet["text"]
        found = find_numbers(text, snippet["region"])
        assert [f.start for f in found] == sorted(f.start for f in found)
        for number in found:
            assert text[number.start : number.end] == number.raw, snippet["id"]
            assert number.evidence


def test_a_number_after_a_separator_the_matcher_split_at_begins_at_its_first_digit() -> None:
    """phonenumbers splits a candidate it cannot parse at a `/` and returns the part after it from the space on; judged
    from there, the `/` made the second number look like part of a path (a bracket before the first one did this)."""
    for text in (")7911 123639 / 0117 496 0157 ext 68", "ref)7911 123639 / 0117 496 0157"):
        [found] = find_numbers(text, "GB")
        assert found.e164 == "+441174960157" and found.raw == text[text.index("0117") :]
        assert found.start == text.index("0117")


# --- labels and anti-labels ---------------------------------------------------------------------------------------

LABELS = [
    "Tel", "Tel.", "tel:", "Phone:", "Ph.", "Mobile", "Mob:", "Cell", "Fax:", "Call", "call me on", "Ring",
    "☎", "📞", "T:", "M:", "Téléphone :", "Tél.", "Portable", "Telefon", "Telefonnummer:", "Handy:", "Mobil",
    "Móvil:", "Teléfono:", "Telefono", "Cellulare", "Celular:", "Tlf.", "puh.", "Телефон:", "電話：", "WhatsApp",
    "my number is",
]  # fmt: skip


@pytest.mark.parametrize("label", LABELS)
def test_a_label_makes_a_bare_digit_run_a_number(label: str) -> None:
    assert offered(f"{label} 4155550132", "US") == ["+14155550132"]


def test_a_bare_digit_run_without_a_label_is_not_offered() -> None:
    assert plain_matcher("Ticket 4155550132 closed", "US") == ["+14155550132"]
    assert offered("Ticket 4155550132 closed", "US") == []
    assert offered("Processed 4155550132 rows", "US") == []
    assert offered("4155550132 is Jane", "US") == []


ANTI_LABELS = [
    "Ticket ID", "ID:", "Order #", "Order no.", "order number is", "Invoice", "Invoice #:", "Ref.", "Reference",
    "Account", "Account number", "Serial No.", "ISBN", "SKU:", "Tracking number:", "PO", "Customer no.",
    "Case No.", "Transaction", "Kundennummer:", "Rechnungsnummer", "Bestellnummer lautet", "N° de commande :",
    "Référence", "Número de pedido:", "Fattura n.", "Contrat n°", "Meeting ID:", "Model",
]  # fmt: skip


@pytest.mark.parametrize("label", ANTI_LABELS)
@pytest.mark.parametrize("number", ["4155550132", "415-555-0132", "(415) 555-0132"])
def test_an_anti_label_right_before_a_number_rejects_it(label: str, number: str) -> None:
    assert plain_matcher(f"{label} {number}", "US") == ["+14155550132"]
    assert offered(f"{label} {number}", "US") == []


def test_a_label_after_the_anti_label_wins() -> None:
    assert offered("Questions about your order? Call 4155550132", "US") == ["+14155550132"]
    assert offered("Order 4155550132 shipped; questions: (212) 555-0198", "US") == ["+12125550198"]


def test_a_label_after_the_number_counts() -> None:
    assert offered("4155550132 (cell)", "US") == ["+14155550132"]
    assert offered("02079460959 (fax)", "GB") == ["+442079460959"]


def test_a_label_on_the_line_before_counts() -> None:
    assert offered("Phone:\n4155550132", "US") == ["+14155550132"]
    assert offered("Mobile (evenings):\n4155550132", "US") == ["+14155550132"]
    assert offered("Order:\n4155550132", "US") == []
    assert offered("Order no.\n415-555-0132", "US") == []
    assert offered("Call the phone\nguy 4155550132", "US") == []  # a label ends the line before, or it is no heading
    assert offered("id,name,phone\n4155550132", "US") == []  # the last column's name labels that column only


def test_a_csv_header_labels_the_columns_of_its_block() -> None:
    text = "Orders:\n\norder_id,date,phone\n4155550132,2024-03-15,2125550198\n\nid,ticket\n3125550176,4155550199"
    assert offered(text, "US") == ["+12125550198"]


def test_a_csv_header_labels_its_columns() -> None:
    text = 'id,name,phone,ticket\n4155550132,Jane,2125550198,3125550176\n4155550133,Raj,"(212) 555-0143",3125550177'
    assert offered(text, "US") == ["+12125550198", "+12125550143"]


# --- what evidence a number without a label needs -------------------------------------------------------------------


def test_a_leading_plus_or_international_prefix_is_enough() -> None:
    assert offered("Jane +14155550132 Bob", "US") == ["+14155550132"]
    assert offered("from the US 011 44 20 7946 0958", "US") == ["+442079460958"]
    assert offered("from Europe 0044 20 7946 0958", "GB") == ["+442079460958"]


@pytest.mark.parametrize("number", ["(415) 555-0132", "415-555-0132", "415.555.0132", "415 555 0132", "(415)555-0132"])
def test_separators_or_a_bracket_make_a_number(number: str) -> None:
    assert offered(f"Jane {number}", "US") == ["+14155550132"]


def test_a_trunk_zero_makes_a_national_number() -> None:
    assert offered("Jane 02079460958", "GB") == ["+442079460958"]
    assert offered("Marie 0612345678", "FR") == ["+33612345678"]


def test_the_whole_text_being_one_number_is_enough() -> None:
    assert offered(" 4155550132\n", "US") == ["+14155550132"]
    found = parse_one("4155550132", "US")
    assert found is not None and found.evidence == "whole text"


# --- things that look like numbers ---------------------------------------------------------------------------------

LOOKALIKES = [
    ("date", "on 15.03.2024 at", 3, 13),
    ("date", "due 2024-03-15", 4, 14),
    ("date", "due 03/15/2024", 4, 14),
    ("time or ratio", "ratio 4155550132:1", 6, 16),
    ("time or ratio", "at 12:4155550132", 6, 16),
    ("price or amount", "costs 0301234567 EUR", 6, 16),
    ("price or amount", "$ 4155550132", 2, 12),
    ("price or amount", "1 234 567,00 €", 0, 9),
    ("card number", "card 4111 1111 1111 1111", 10, 19),
    ("IBAN", "NL91 ABNA 0417 1643 00", 10, 22),
    ("IP address", "host 172.16.254.1", 5, 17),
    ("ISBN", "see 0-306-40615-2", 4, 17),
    ("ISBN", "9780306406157", 0, 13),
    ("part of a longer number", "USPS 9400 1000 0000 0000 0000 00", 10, 24),
    ("version string", "4.15.555.0132", 0, 13),
    ("coordinates", "37.774929,-122.419416", 11, 21),
    ("social security number", "SSN 078-05-1120", 4, 15),
    ("part of a word, URL, e-mail address or code", "https://example.com/item/4155550132", 25, 35),
    ("part of a word, URL, e-mail address or code", "4155550132@example.com", 0, 10),
    ("quantity with a unit", "4155550132 bytes", 0, 10),
]


def test_masking_hides_non_numbers_from_the_matcher_and_keeps_numbers() -> None:
    text = (
        "see https://example.com/item/4155550132 or /api/orders/2125550198, id=4155550132, 192.168.10.200, "
        "15.03.2024 14:30:07, 51.507351, card 4111 1111 1111 1111 | tel 030/1234567, 089 /12345678, "
        "+1 212 555 0198;ext=12, phone=+442079460958, 020 7946 0958"
    )
    masked = mask(text)
    assert len(masked) == len(text)
    for hidden in ("4155550132", "2125550198", "192.168", "15.03.2024", "14:30", "51.507351", "4111"):
        assert hidden not in masked, hidden
    for kept in ("030/1234567", "089 /12345678", "+1 212 555 0198;ext=12", "phone=+442079460958", "020 7946 0958"):
        assert kept in masked, kept


@pytest.mark.parametrize(("reason", "text", "start", "end"), LOOKALIKES)
def test_lookalikes_say_what_they_are(reason: str, text: str, start: int, end: int) -> None:
    assert lookalike(text, start, end, 1) == reason


@pytest.mark.parametrize(
    ("region", "text"),
    [
        ("US", "Total 4155550132 USD"),
        ("DE", "IBAN NL91 ABNA 0417 1643 00"),
        ("PL", "gateway 172.16.254.1"),
        ("DE", "ISBN-10 0-306-40615-2"),
        ("US", "Upgrade to 4.15.555.0132"),
        ("PL", "37.774929,-122.419416"),
        ("DE", "078-05-1120"),
        ("US", "https://example.com/item/4155550132"),
        ("US", "4155550132@example.com"),
        ("US", "Downloaded 4155550132 bytes"),
    ],
)
def test_lookalikes_the_plain_matcher_takes_are_not_offered(region: str, text: str) -> None:
    assert plain_matcher(text, region)
    assert offered(text, region) == []
    assert not any(v.accepted for v in explain(text, region))


@pytest.mark.parametrize(
    "text",
    [
        "Meeting 2024-03-15 14:30, 15.03.2024 and 03/15/2024",
        "Revenue $12,345,678, price 1.234.567,89 €",
        "Visa 4111 1111 1111 1111 and 5555-5555-5555-4444",
        "IBAN DE89 3704 0044 0532 0130 00",
        "ISBN 978-0-306-40615-7",
        "USPS 9400 1000 0000 0000 0000 00, FedEx 7489 2345 6789, DHL 00340434161094042557",
        "Chrome/120.0.6099.109, v10.2.3.4567",
        "40.7128, -74.0060",
        "1710513000 seconds since the epoch",
    ],
)
def test_non_numbers_are_not_offered_in_any_common_region(text: str) -> None:
    for region in ("US", "GB", "DE", "FR", "IT", "AT", "NL", "PL", "IN", "BR"):
        assert offered(text, region) == [], region


# --- writing: URIs, Unicode, (0), extensions, vanity ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tel:+442079460958", "+442079460958"),
        ("<a href='tel:+44-20-7946-0958'>", "+442079460958"),
        ("tel:020-7946-0958", "+442079460958"),
        ("tel:%2B44%2020%207946%200958", "+442079460958"),
        ("tel:+1-212-555-0198;ext=204", "+12125550198;ext=204"),
        ("tel:555-0143;phone-context=+1-202", "+12025550143"),
        ("callto:+442079460958", "+442079460958"),
        ("callto://+442079460958", "+442079460958"),
        ("sip:+442079460958@pbx.example.com;transport=tls", "+442079460958"),
        ("sips:+12125550198@voip.example.com", "+12125550198"),
    ],
)
def test_uris(text: str, expected: str) -> None:
    assert offered(text, "GB") == [expected]
    found = parse_one(text, "GB")
    assert found is not None and found.evidence == "uri"


def test_uris_without_a_number_offer_nothing() -> None:
    assert offered("sip:alice@example.com and callto:jane.doe and tel:12", "GB") == []


@pytest.mark.parametrize(
    "text",
    [
        "020\u00a07946\u00a00958",  # non-breaking spaces
        "020\u202f7946\u202f0958",  # narrow non-breaking spaces
        "020\u20137946\u20130958",  # en dashes
        "020\u20147946\u20140958",  # em dashes
        "０２０ ７９４６ ０９５８",  # full-width digits
        "＋４４ ２０ ７９４６ ０９５８",  # full-width plus
        "020\u200b7946\u200b0958",  # zero-width spaces
        "+44 (0)20 7946 0958",
        "+44 (0) 20 7946 0958",
        "+44(0)2079460958",
        "0044 (0)20 7946 0958",
    ],
)
def test_unicode_and_uk_zero_writing(text: str) -> None:
    found = find_numbers(f"Tel {text}.", "GB")
    assert [f.e164 for f in found] == ["+442079460958"]
    assert found[0].raw == text


def test_normalising_keeps_offsets() -> None:
    text = "Tel\u00a0：０２０\u2013７９４６ ０９５８ ٠١٢"
    assert len(normalise(text)) == len(text)
    assert normalise(text) == "Tel :020-7946 0958 012"


def test_other_scripts_digits() -> None:
    assert offered("هاتف: ٠٢ ١٢٣٤ ٥٦٧٨", "EG") == ["+20212345678"]
    assert offered("फ़ोन: +९१ ९८७६५ ४३२१०", "IN") == ["+919876543210"]
    assert offered("電話番号は090-1234-5678です。", "JP") == ["+819012345678"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1 212 555 0198 x123", "+12125550198;ext=123"),
        ("(212) 555-0198 ext. 123", "+12125550198;ext=123"),
        ("(212) 555-0198, ext 123", "+12125550198;ext=123"),
        ("+1 212 555 0198;ext=123", "+12125550198;ext=123"),
        ("212-555-0198 extension 123", "+12125550198;ext=123"),
        ("212-555-0198 #123", "+12125550198;ext=123"),
        ("416 555-0123, poste 123", "+14165550123;ext=123"),
    ],
)
def test_extensions_are_kept(text: str, expected: str) -> None:
    assert offered(f"Tel: {text}", "US") == [expected]


def test_the_extension_is_shown_but_the_main_number_dialled() -> None:
    found = parse_one("Office (212) 555-0198 x 4410", "US")
    assert found is not None
    target = DiallingRules("US").apply(found)
    assert (target.destination, target.e164) == ("+12125550198", "+12125550198")
    assert target.display.endswith("ext. 4410")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 1-800-FLOWERS", ["+18003569377"]),
        ("1-800-FLOWERS", ["+18003569377"]),  # the toll-free 1-8XX form says it on its own
        ("Phone: 1-877-GOT-JUNK", ["+18774685865"]),
        ("For pickups call 1-800-GoFedEx.", ["+18004633339"]),
        ("Tel (800) FLOWERS", ["+18003569377"]),
        ("see 800-Flowers.com", []),  # a web address
        ("our 555 reasons to switch", []),
        ("1980 Hospital Road", []),
    ],
)
def test_vanity_numbers(text: str, expected: list[str]) -> None:
    assert offered(text, "US") == expected


def test_vanity_numbers_outside_north_america_need_the_1() -> None:
    assert offered("Call 800-FLOWERS", "GB") == []
    assert offered("Call 1-800-FLOWERS", "GB") == ["+18003569377"]


# --- parse_one, repeats, long texts -----------------------------------------------------------------------------------


def test_parse_one_wants_exactly_one_number() -> None:
    assert parse_one("Ticket ID 4155550132", "US") is None
    assert parse_one("020 7946 0958 or 0161 496 0789", "GB") is None
    one = parse_one("call +44 20 7946 0958 now", "GB")
    assert one is not None and (one.e164, one.raw) == ("+442079460958", "+44 20 7946 0958")


def test_the_same_number_is_offered_once() -> None:
    text = "tel:+442079460958 (020 7946 0958) +44 20 7946 0958"
    assert offered(text, "GB") == ["+442079460958"]


PLANTED_FORMATS = [
    "Tel: 020 7946 {n:04d}",
    "+44 161 496 {n:04d}",
    "call 0113 496 {n:04d} today",
    '<a href="tel:+44117496{n:04d}">',
    "Mobile 07400 1{n:05d}",
    "Office +1 212-555-{n:04d} x{n}",
    "Fax: +1 (312) 555-{n:04d}",
    "+49 30 9018{n:04d}",
]
NOISE = [
    "Order 4155550132 shipped on 2024-03-15 at 14:32:07 to 10 Downing Street.",
    "Invoice INV-{n} total £1,234.56, card 4111 1111 1111 1111, ref 0161 4960 789 0012.",
    "GET /api/orders/2125550198?session=4155550132 200 1532 bytes 192.168.10.200",
    "Ticket ID 2079460958 escalated; ISBN 978-0-306-40615-7; IBAN GB29 NWBK 6016 1331 9268 19.",
    "the quick brown fox jumps over the lazy dog while the meeting drags on for another hour",
    "Version 4.15.555.0132 released 15.03.2024; coordinates 51.507351, -0.127758; build 20240315.",
]


def planted_text(count: int, size: int, joiner: str, seed: int = 4) -> tuple[str, list[str]]:
    """About `size` characters of noise with `count` distinct numbers spread through it, and those numbers."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible text, not a secret
    slots = sorted(rng.sample(range(size // 80), count))
    pieces: list[str] = []
    expected: list[str] = []
    slot = 0
    for line in range(size // 80):
        if slot < count and slots[slot] == line:
            n = slot
            piece = PLANTED_FORMATS[n % len(PLANTED_FORMATS)].format(n=n)
            pieces.append(piece)
            expected.append(written(parse_one(piece, "GB") or FoundNumber("", f"not one: {piece}", "", 0, 0)))
            slot += 1
        else:
            pieces.append(rng.choice(NOISE).format(n=line))
    return joiner.join(pieces), expected


def test_one_megabyte_with_500_numbers_finds_them_all() -> None:
    text, expected = planted_text(500, 1_000_000, "\n")
    assert len(text) >= 900_000 and len(set(expected)) == 500
    assert offered(text, "GB") == expected
    # the reason for scanning line by line: the matcher's default limit stops it early on such a text
    assert len(list(PhoneNumberMatcher(text, "GB", leniency=Leniency.VALID))) < 500


def test_one_megabyte_on_a_single_line_finds_them_all() -> None:
    text, expected = planted_text(500, 1_000_000, " | ", seed=5)
    assert "\n" not in text
    assert offered(text, "GB") == expected


def test_numbers_across_every_cut_of_a_long_line_are_found() -> None:
    words = "alpha beta gamma delta " * 200
    for shift in range(0, 40, 3):
        text = words[: SEGMENT - 10 + shift] + " Tel: 020 7946 0958 ext. 12 and " + words
        assert offered(text, "GB") == ["+442079460958;ext=12"], shift


# --- the command line -------------------------------------------------------------------------------------------


def run_numbers(tmp_path: Path, text: str, *args: str) -> list[str]:
    result = subprocess.run(
        [COMMAND, "numbers", *args],
        input=text,
        env=partnercrmd_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_cli_numbers_applies_the_rules(tmp_path: Path) -> None:
    text = (
        "Ticket ID 4155550132 — call Jane on (212) 555-0198 x 12, or tel:+442079460958.\n"
        "Order 2125550143 dated 2024-03-15, total $4,155.50; Tel: 1-800-FLOWERS\n"
    )
    assert run_numbers(tmp_path, text, "--region", "US") == [
        "+12125550198;ext=12",
        "+442079460958",
        "+18003569377",
    ]
    assert run_numbers(tmp_path, "Tel. 030 901820, Kundennummer 0301234567", "--region", "de") == ["+4930901820"]


def explain_lines(text: str, region: str) -> Iterator[str]:
    for verdict in explain(text, region):
        yield f"{verdict.accepted} {verdict.number.e164} {verdict.reason}"


def test_explain_gives_the_reason_for_each_candidate() -> None:
    assert list(explain_lines("Ticket ID 4155550132, call 4155550133", "US")) == [
        "False +14155550132 anti-label 'ID'",
        "True +14155550133 label",
    ]
