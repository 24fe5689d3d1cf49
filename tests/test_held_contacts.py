"""`HeldBook`: held contacts searched through lookups worked out once must find exactly what a search of every
contact finds (the plain sequence is the reference), in the same order, for numbers in every style and for words."""

from __future__ import annotations

import random

import pytest

from partnercrmd.held_contacts import HeldBook, HeldContact, search_held
from partnercrmd.model import Contact, Phone, PhoneKind, SearchQuery

REGION = "GB"
FIRST = ["Ann", "Bjørn", "Chloé", "Dmitri", "Émile", "Fatima", "Grace", "Hiroshi", "Ines", "José"]
LAST = ["Müller", "O'Brien", "Smith", "Smithers", "Nguyen", "García", "Kowalski", "Ødegaard", "Ward", "Edwards"]
COMPANIES = ["Acme Ltd", "Müller & Söhne", "", "Northwind", "Smith Brothers"]


def styles(subscriber: str) -> list[str]:
    """One UK number (0113 496 0xxx, an Ofcom drama block) written the ways people type it."""
    national = f"0113496{subscriber}"
    return [
        f"+44 113 496 {subscriber}",
        f"0113 496 {subscriber}",
        f"(0113) 496-{subscriber}",
        f"+44 (0)113 496 {subscriber}",
        national,
        f"0044 113 496 {subscriber}",
        f"tel:+44113496{subscriber}",
        f"+44 113 496 {subscriber} ext. 12",
        f"496 {subscriber}",  # dialled locally, without the area code: matches on its last seven digits
        f"96{subscriber}",  # six digits: too short to match anything but the same six digits
    ]


def other_numbers(rng: random.Random) -> list[str]:
    """Numbers that are not UK drama numbers: foreign, fictional, short extensions, unparseable."""
    return [
        f"+1 202 555 {rng.randrange(10000):04d}",
        f"+49 30 {rng.randrange(10**7):07d}",
        f"{rng.randrange(100, 9999)}",  # an extension
        f"555-{rng.randrange(10000):04d}",  # too short for any region
        f"+33 1 {rng.randrange(10**8):08d}",
        f"07700 900{rng.randrange(1000):03d}",  # UK mobile drama range
    ]


def make_book(rng: random.Random, size: int) -> list[HeldContact]:
    held = []
    for i in range(size):
        numbers: list[str] = []
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            if rng.random() < 0.6:
                numbers.append(rng.choice(styles(f"{rng.randrange(200):04d}")))  # few lines: many share one
            else:
                numbers.append(rng.choice(other_numbers(rng)))
        contact = Contact(
            id=str(i),
            first_name=rng.choice(FIRST),
            last_name=rng.choice(LAST),
            company=rng.choice(COMPANIES),
            emails=[f"person{i}@example.org"] if rng.random() < 0.5 else [],
            phones=[Phone(n, PhoneKind.BUSINESS) for n in numbers],
        )
        held.append(HeldContact.of(contact, REGION))
    return held


def ids(contacts: list[Contact]) -> list[str]:
    return [c.id for c in contacts]


@pytest.fixture(scope="module")
def book() -> list[HeldContact]:
    return make_book(random.Random(20261207), 3000)  # noqa: S311  (test data, not secrets)


def test_numbers_in_every_style_find_what_a_search_of_every_contact_finds(book: list[HeldContact]) -> None:
    rng = random.Random(7)  # noqa: S311
    indexed = HeldBook(book)
    queries = [rng.choice(styles(f"{rng.randrange(260):04d}")) for _ in range(300)]  # 0200-0259: no one has them
    queries += [rng.choice(other_numbers(rng)) for _ in range(300)]
    queries += ["", "abc", "0", "+", "12", "0113"]
    found_any = 0
    for number in queries:
        for limit in (1, 5, 1000):
            query = SearchQuery(text=number, limit=limit, number=number)
            expected = ids(search_held(book, query, REGION))
            assert ids(search_held(indexed, query, REGION)) == expected, (number, limit)
            found_any += bool(expected)
    assert found_any > 600  # most drama-block numbers belong to someone, so the comparison is not of empty lists


def test_words_find_what_a_search_of_every_contact_finds(book: list[HeldContact]) -> None:
    indexed = HeldBook(book)
    texts = [
        "smith",
        "SMITHERS",
        "muller",
        "Müller",
        "garcia",
        "o'brien",
        "ann smith",
        "smith ann",
        "emile ward",
        "ødegaard",
        "odegaard",
        "acme",
        "söhne",
        "person12@",
        "example.org",
        "rd",
        "s",
        "nobody",
        "smith nobody",
        "mith",
        "ann\x00smith",
        "   ",
    ]
    found_any = 0
    for text in texts:
        for limit in (1, 7, 5000):
            query = SearchQuery(text=text, limit=limit)
            expected = ids(search_held(book, query, REGION))
            assert ids(search_held(indexed, query, REGION)) == expected, (text, limit)
            found_any += bool(expected)
    assert found_any > 40


def test_a_word_never_spans_two_contacts() -> None:
    """The words of all contacts are one text inside the book; a query word made of the end of one contact and the
    start of the next finds no one."""
    first = Contact(id="0", display_name="Ada", company="Bo")  # its words end with the company: "ada\nbo"
    held = [HeldContact.of(first, REGION), HeldContact.of(Contact(id="1", display_name="Cy Dee"), REGION)]
    indexed = HeldBook(held)
    assert search_held(indexed, SearchQuery(text="bocy", limit=10), REGION) == []
    assert search_held(indexed, SearchQuery(text="bo\x00cy", limit=10), REGION) == []
    assert ids(search_held(indexed, SearchQuery(text="cy", limit=10), REGION)) == ["1"]
    assert ids(search_held(indexed, SearchQuery(text="d", limit=10), REGION)) == ["0", "1"]


def test_the_book_is_a_sequence_of_its_contacts_and_answers_copies(book: list[HeldContact]) -> None:
    indexed = HeldBook(book)
    assert len(indexed) == len(book) and list(indexed) == book and indexed[3] is book[3]
    assert list(indexed[1:3]) == book[1:3]
    first = next(h for h in book if h.contact.phones)
    [answer, *_] = search_held(indexed, SearchQuery(text="", limit=50, number=first.contact.phones[0].number), REGION)
    answer.phones.clear()
    answer.display_name = "changed"
    assert [p.number for p in first.contact.phones] and first.contact.display_name != "changed"


def test_an_empty_book_finds_no_one() -> None:
    assert search_held(HeldBook(), SearchQuery(text="", limit=10, number="+44 113 496 0001"), REGION) == []
    assert search_held(HeldBook(), SearchQuery(text="ann", limit=10), REGION) == []
