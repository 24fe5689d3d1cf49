"""Number classification, normalisation and matching: the rules that keep caller preview exact."""

from __future__ import annotations

import pytest

from partnercrmd.phone import (
    index_tail,
    is_extension,
    looks_like_number,
    number_forms,
    numbers_match,
    phone_key,
    query_key,
)
from partnercrmd.search import number_query

ALICE = "+44 20 7946 0958"


FULL_WIDTH = "\uff10\uff12\uff10\uff17\uff19\uff14\uff16\uff10\uff19\uff15\uff18"
WRITINGS = [
    "02079460958",
    "+442079460958",
    "0044 20 7946 0958",
    "+44 (0)20 7946-0958",
    "020\u00a07946\u20130958",
    "tel:+44-20-7946-0958",
    "sip:+442079460958@pbx.example",
    FULL_WIDTH,
]


@pytest.mark.parametrize("text", WRITINGS)
def test_every_form_of_a_uk_number_matches_it(text: str) -> None:
    assert looks_like_number(text)
    assert numbers_match(phone_key(ALICE, "GB"), phone_key(text, "GB"))
    assert index_tail(text, "GB") == index_tail(ALICE, "GB")


@pytest.mark.parametrize("text", ["Alice", "chris@example.com", "Room 101", "12", "", "+", "1" * 20])
def test_names_and_junk_are_not_numbers(text: str) -> None:
    assert not looks_like_number(text)


def test_valid_numbers_of_other_countries_do_not_match() -> None:
    us = phone_key("+1 207 946 0958", "GB")  # same national digits, another country
    assert not numbers_match(phone_key(ALICE, "GB"), us)


def test_fictional_numbers_match_on_their_digits() -> None:
    stored = phone_key("(555) 123-4567", "US")
    assert not stored.valid
    assert numbers_match(stored, phone_key("555.123.4567", "US"))
    assert numbers_match(stored, phone_key("+1 555 123 4567", "GB"))
    assert not numbers_match(stored, phone_key("555 123 4568", "US"))


def test_short_internal_numbers_match_only_exactly() -> None:
    assert numbers_match(phone_key("2001", "GB"), phone_key("2001", "GB"))
    assert not numbers_match(phone_key("2001", "GB"), phone_key("+44 20 7946 2001", "GB"))


def test_extension_is_kept_apart() -> None:
    key = phone_key("+1 212-736-5000 ext. 42", "US")
    assert (key.e164, key.extension) == ("+12127365000", "42")


def test_number_forms_cover_the_usual_writings() -> None:
    forms = number_forms(phone_key("2127365000", "US"), "US")
    assert {"+12127365000", "(212) 736-5000", "212-736-5000", "2127365000"} <= set(forms)
    assert len(forms) == len(set(forms))


@pytest.mark.parametrize("text", ["4711", "200", " 4711 ", "47 11"])
def test_extensions_of_the_dialling_lengths_are_extensions(text: str) -> None:
    assert is_extension(text, (3, 4))


@pytest.mark.parametrize("text", ["04711", "+4711", "47-11", "47110", "12", "471\u0661", "\uff14\uff17\uff11\uff11"])
def test_other_lengths_leading_zero_plus_and_punctuation_are_no_extensions(text: str) -> None:
    assert not is_extension(text, (3, 4))


def test_an_extension_query_is_sent_as_its_digits() -> None:
    query = number_query("4711", "GB", extension_lengths=(3, 4))
    assert (query.number, query.number_forms) == ("4711", ("4711",))


def test_an_extension_query_matches_only_that_extension() -> None:
    wanted = query_key("4711", "GB", (3, 4))
    assert numbers_match(wanted, phone_key("4711", "GB"))
    assert numbers_match(wanted, phone_key("47 11", None))
    assert not numbers_match(wanted, phone_key("+44 20 7946 4711", "GB"))
    assert not numbers_match(wanted, phone_key("+49 4711", "GB"))  # a national number that happens to be 4711


def test_full_numbers_and_other_lengths_are_read_as_before() -> None:
    for text in (ALICE, "02079460958", "471100", "04711"):
        assert query_key(text, "GB", (3, 4)) == phone_key(text, "GB")
        assert number_query(text, "GB", extension_lengths=(3, 4)) == number_query(text, "GB")
    assert query_key("4711", "GB") == phone_key("4711", "GB")  # no extension lengths: as before
