"""What the add-in writes and reads without a server: content lines, vCards, NOTE call lines, journals, DAV XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from carddav_seed import DANA, EAMON
from partnercrmd_carddav import activities, dav_xml
from partnercrmd_carddav.cards import CardEditor, StoredCard, card_numbers, new_card, read_contact
from partnercrmd_carddav.content_lines import Component, escape_text, fold, unescape_text, unfold

from partnercrmd.sdk import Activity, CallDirection, Contact, ContactPatch, Phone, PhoneKind, Picture
from partnercrmd.sdk.vcard import parse_vcards

PRODID = "-//test//test//EN"
CALL = Activity(
    subject="Incoming call: +44 20 7946 0958 -> 201 [Reception]",
    body="Direction: Inbound\nCaller: +44 20 7946 0958\n\nWants a quote;\nfor 40 seats, soon",
    direction=CallDirection.INBOUND,
    start_utc=datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC),
    duration_seconds=3725,
)


def test_long_lines_fold_at_75_octets_without_splitting_characters() -> None:
    line = "NOTE:" + "Zoë Lefèvre, Société Contoso — ☎ " * 12
    folded = fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 5
    assert all(len(part.encode("utf-8")) <= 75 for part in physical)
    assert unfold(folded) == [line]


def test_text_values_escape_and_unescape() -> None:
    text = "a\\b; c, d\nsecond line"
    assert escape_text(text) == "a\\\\b\\; c\\, d\\nsecond line"
    assert unescape_text(escape_text(text)) == text


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_a_new_card_reads_back_as_the_contact(version: str) -> None:
    contact = Contact(
        first_name="Ada",
        last_name="Lovelace; Countess",
        company="Analytical, Ltd",
        job_title="Programmer",
        phones=[Phone("+44 20 7946 0000", PhoneKind.BUSINESS), Phone("07700 900000", PhoneKind.MOBILE)],
        emails=["ada@example.org"],
        notes="Met at the\nexhibition",
        picture=Picture("image/png", b"\x89PNG\r\n\x1a\nrest"),
    )
    text = new_card(contact, "ada-1", version, PRODID)
    assert text.startswith(f"BEGIN:VCARD\r\nVERSION:{version}\r\n") and text.endswith("END:VCARD\r\n")
    [read] = parse_vcards(text)
    assert (read.id, read.name, read.first_name, read.last_name) == (
        "ada-1",
        "Ada Lovelace; Countess",
        "Ada",
        "Lovelace; Countess",
    )
    assert (read.company, read.job_title, read.emails, read.notes) == (
        "Analytical, Ltd",
        "Programmer",
        ["ada@example.org"],
        "Met at the\nexhibition",
    )
    assert [(p.number, p.kind) for p in read.phones] == [
        ("+44 20 7946 0000", PhoneKind.BUSINESS),
        ("07700 900000", PhoneKind.MOBILE),
    ]
    assert read.picture == Picture("image/png", b"\x89PNG\r\n\x1a\nrest")


def test_a_card_with_only_a_number_still_has_a_formatted_name() -> None:
    text = new_card(Contact(phones=[Phone("020 7946 0000")]), "n-1", "3.0", PRODID)
    assert "\r\nFN:020 7946 0000\r\n" in text


def test_changing_a_card_keeps_everything_it_does_not_change() -> None:
    editor = CardEditor(DANA)
    editor.apply(ContactPatch(company="Contoso", phone="020 7946 0111", email="", first_name="Danielle"))
    changed = editor.text()
    card = Component.find(changed, "VCARD")
    assert card is not None
    assert card.value("ORG") == "Contoso;Sales"  # the department stays
    assert card.value("N") == "Whitfield;Danielle;;;"
    assert card.value("FN") == "Danielle Whitfield"  # FN followed the name, as it was made of it
    assert [prop.value for _, prop in card.properties("TEL")] == ["020 7946 0111", "07700 900123"]
    assert list(card.properties("EMAIL")) == []
    for kept in ("X-SOCIALPROFILE;TYPE=twitter:danaw", "TITLE:Head of Sales", "NOTE:Prefers calls after 10am"):
        assert kept in card.lines
    assert any(line.startswith("PHOTO;ENCODING=b;TYPE=PNG:iVBOR") for line in card.lines)
    assert card.value("REV").endswith("Z")


def test_a_chosen_display_name_is_not_overwritten_by_name_changes() -> None:
    editor = CardEditor(DANA.replace("FN:Dana Whitfield", "FN:Dana W. (Sales)"))
    editor.apply(ContactPatch(last_name="Smith"))
    assert Component.find(editor.text(), "VCARD").value("FN") == "Dana W. (Sales)"  # type: ignore[union-attr]


def test_a_tel_uri_is_replaced_by_plain_text() -> None:
    editor = CardEditor(EAMON)
    editor.apply(ContactPatch(phone="0161 496 0000"))
    assert "TEL;TYPE=work:0161 496 0000" in editor.card.lines
    assert card_numbers(EAMON) == ["+44-161-496-0789"]


def test_call_lines_go_into_note_and_come_back_as_activities() -> None:
    line = activities.note_line(CALL)
    assert line == (
        "[Call 2026-11-25 14:03:07 UTC, inbound, 1:02:05] Incoming call: +44 20 7946 0958 -> 201 [Reception]"
        " — Wants a quote; for 40 seats, soon"
    )
    editor = CardEditor(DANA)
    editor.append_call(line)
    editor.append_call(
        activities.note_line(
            Activity(
                "Outgoing call: 201 -> 02079460958",
                "",
                CallDirection.OUTBOUND,
                datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
                59,
            )
        )
    )
    text = editor.text()
    contact = read_contact(StoredCard("dana.vcf", "", text))
    assert contact is not None and contact.notes == "Prefers calls after 10am"
    [latest, first] = activities.newest_first(
        [a for a in map(activities.parse_note_line, contact_note_lines(text)) if a], 10
    )
    assert (latest.subject, latest.direction, latest.duration_seconds) == (
        "Outgoing call: 201 -> 02079460958",
        CallDirection.OUTBOUND,
        59,
    )
    assert (first.body, first.start_utc, first.duration_seconds) == (
        "Wants a quote; for 40 seats, soon",
        CALL.start_utc,
        3725,
    )
    assert first.id.startswith("note:") and first.id != latest.id

    editor = CardEditor(text)
    editor.apply(ContactPatch(notes="New notes"))  # editing the notes keeps the call log
    own, calls = editor.notes()
    assert (own, len(calls)) == ("New notes", 2)


def contact_note_lines(text: str) -> list[str]:
    card = Component.find(text, "VCARD")
    assert card is not None
    return card.value("NOTE").split("\n")


def test_a_journal_entry_reads_back_as_the_call() -> None:
    entry = activities.journal_entry("j-1", "dana.vcf", "Dana Whitfield", CALL, PRODID)
    assert entry.text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\nBEGIN:VJOURNAL\r\n")
    assert activities.journal_contact(entry.text) == "dana.vcf"
    read = activities.parse_journal(entry.text)
    assert read == Activity(
        subject=CALL.subject + " (Dana Whitfield)",
        body=CALL.body,
        direction=CallDirection.INBOUND,
        start_utc=CALL.start_utc,
        duration_seconds=3725,
        id="j-1",
    )


def test_multistatus_answers_are_read_defensively() -> None:
    body = (
        b'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">'
        b"<d:response><d:href>/a/b/</d:href><d:propstat><d:prop><cs:getctag>42</cs:getctag></d:prop>"
        b"<d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><d:sync-token/></d:prop>"
        b"<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>"
        b"<d:response><d:href>/a/b/gone.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>"
        b"</d:multistatus>"
    )
    status = dav_xml.parse_multistatus(body)
    first, gone = status.responses
    assert (first.text(dav_xml.GETCTAG), dav_xml.SYNC_TOKEN in first.props) == ("42", False)
    assert gone.missing


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<html><body>Login</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<m xmlns="DAV:">&b;</m>',
    ],
)
def test_answers_that_are_not_a_multistatus_are_refused(body: bytes) -> None:
    with pytest.raises(dav_xml.MalformedXml):
        dav_xml.parse_multistatus(body)
