"""Filters, settings and entry mapping of the ldap add-in, for both presets, without a server.

The OpenLDAP preset is also exercised against a real slapd in test_ldap_server.py; Active Directory cannot
run here, so its filters are checked as text and with ldap3's own filter parser, and its entries as the
attribute values AD returns (objectGUID bytes, thumbnailPhoto, ipPhone).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from partnercrmd_ldap.client import Entry, ServerAddress, parse_url
from partnercrmd_ldap.connector import is_under, parent_of
from partnercrmd_ldap.filters import (
    check_filter_syntax,
    contacts_filter,
    id_filter,
    name_filter,
    number_filter,
    number_pattern,
)
from partnercrmd_ldap.ldap3_api import ldap3
from partnercrmd_ldap.mapping import (
    MAX_APPENDED_TEXT,
    activity_value,
    appended_text,
    entry_id,
    new_entry,
    patch_changes,
    to_contact,
)
from partnercrmd_ldap.presets import ACTIVE_DIRECTORY, OPENLDAP, PRESETS
from partnercrmd_ldap.settings import parse_settings
from slapd_server import TINY_JPEG

from partnercrmd.sdk import Activity, CallDirection, ConfigError, Contact, ContactPatch, Phone, PhoneKind

OPENLDAP_PRESET = PRESETS[OPENLDAP]
AD_PRESET = PRESETS[ACTIVE_DIRECTORY]
GUID = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


def parses(search_filter: str) -> bool:
    """Whether ldap3's own parser (the one that encodes the request) accepts the filter."""
    from ldap3.operation.search import parse_filter

    parse_filter(search_filter, None, True, True, None, False)  # type: ignore[no-untyped-call]  # untyped in the stubs
    return True


# --- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "pattern"),
    [
        ("+442079460958", "*9*4*6*0*9*5*8*"),  # the last seven national digits, anything between them
        ("+12127365000", "*7*3*6*5*0*0*0*"),
        ("2079460958", "*9*4*6*0*9*5*8*"),
        ("4711", "4*7*1*1"),  # an extension: first to last digit, so longer numbers do not match
        ("", None),
    ],
)
def test_number_pattern(number: str, pattern: str | None) -> None:
    assert number_pattern(number, "GB") == pattern


def test_openldap_number_filter_searches_every_inetorgperson_phone_attribute() -> None:
    attributes = OPENLDAP_PRESET.attributes
    inner = number_filter(attributes.phone_attributes(), "+442079460958", "GB")
    assert inner is not None
    built = contacts_filter(OPENLDAP_PRESET.object_filter, "", inner)
    assert built == (
        "(&(objectClass=inetOrgPerson)(|(telephoneNumber=*9*4*6*0*9*5*8*)(mobile=*9*4*6*0*9*5*8*)"
        "(homePhone=*9*4*6*0*9*5*8*)(facsimileTelephoneNumber=*9*4*6*0*9*5*8*)))"
    )
    assert parses(built)


def test_active_directory_number_filter_searches_users_and_contacts_on_every_phone_attribute() -> None:
    attributes = AD_PRESET.attributes
    assert attributes.phone_attributes() == (
        "telephoneNumber",
        "otherTelephone",
        "mobile",
        "otherMobile",
        "homePhone",
        "otherHomePhone",
        "facsimileTelephoneNumber",
        "otherFacsimileTelephoneNumber",
        "ipPhone",
        "otherIpPhone",
    )
    inner = number_filter(attributes.phone_attributes(), "+12127365000", "GB")
    assert inner is not None
    built = contacts_filter(AD_PRESET.object_filter, "(!(userAccountControl:1.2.840.113556.1.4.803:=2))", inner)
    assert built.startswith(
        "(&(&(objectCategory=person)(|(objectClass=user)(objectClass=contact)))"
        "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
        "(|(telephoneNumber=*7*3*6*5*0*0*0*)(otherTelephone=*7*3*6*5*0*0*0*)(mobile=*7*3*6*5*0*0*0*)"
    )
    assert built.endswith("(ipPhone=*7*3*6*5*0*0*0*)(otherIpPhone=*7*3*6*5*0*0*0*)))")
    assert parses(built)


def test_an_extension_is_found_in_ad_ip_phone() -> None:
    assert number_filter(("ipPhone",), "4711", "GB") == "(ipPhone=4*7*1*1)"
    assert number_filter((), "4711", "GB") is None


# --- names --------------------------------------------------------------------------------------------


def test_openldap_name_filter_needs_every_word_in_a_name_company_or_email() -> None:
    inner = name_filter(OPENLDAP_PRESET.attributes.name_attributes(), "dana  northwind")
    assert inner == (
        "(&(|(cn=*dana*)(givenName=*dana*)(sn=*dana*)(o=*dana*)(mail=*dana*))"
        "(|(cn=*northwind*)(givenName=*northwind*)(sn=*northwind*)(o=*northwind*)(mail=*northwind*)))"
    )


def test_active_directory_name_filter_uses_display_name_and_company() -> None:
    inner = name_filter(AD_PRESET.attributes.name_attributes(), "Zoë")
    assert inner == "(|(displayName=*Zoë*)(givenName=*Zoë*)(sn=*Zoë*)(company=*Zoë*)(mail=*Zoë*))"
    assert parses(contacts_filter(AD_PRESET.object_filter, "", inner))


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("*", r"\2a"), ("a)(cn=*", r"a\29\28cn=\2a"), ("back\\slash", r"back\5cslash"), ("nul\x00", r"nul\00")],
)
def test_name_filter_escapes_what_filters_give_meaning_to(text: str, escaped: str) -> None:
    assert name_filter(("cn",), text) == f"(cn=*{escaped}*)"
    assert parses(f"(cn=*{escaped}*)")


def test_a_query_without_words_searches_nothing() -> None:
    assert name_filter(("cn",), "   ") is None


# --- ids ----------------------------------------------------------------------------------------------


def test_entry_uuid_is_text_and_object_guid_is_bytes_in_ads_order() -> None:
    assert id_filter("entryUUID", str(GUID)) == f"(entryUUID={GUID})"
    assert id_filter("objectGUID", str(GUID)) == r"(objectGUID=\e0\04\25\3f\89\4f\d3\11\9a\0c\03\05\e8\2c\33\01)"
    ad_entry = Entry("CN=Dana,DC=corp", {"objectguid": [GUID.bytes_le]})
    assert entry_id(ad_entry, AD_PRESET.attributes) == str(GUID)
    assert entry_id(Entry("cn=x,dc=example", {}), OPENLDAP_PRESET.attributes) == "cn=x,dc=example"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),
        ("(department=Sales)", None),
        ("(&(a=1)(b=\\29))", None),
        ("department=Sales", "it must be one filter in parentheses, such as (department=Sales)"),
        ("(a=1)(b=2)", "its parentheses do not match"),
        ("((a=1)", "its parentheses do not match"),
    ],
)
def test_the_extra_filter_is_checked(text: str, problem: str | None) -> None:
    assert check_filter_syntax(text) == problem


# --- settings -----------------------------------------------------------------------------------------

BASE_SETTINGS: dict[str, Any] = {"url": "ldaps://dc1.corp.example", "base_dn": "DC=corp,DC=example"}


def test_settings_take_the_preset_and_the_users_overrides() -> None:
    parsed = parse_settings(
        {
            **BASE_SETTINGS,
            "preset": "active-directory",
            "attr_business_phone": "telephoneNumber, pager",
            "attr_company": "department",
            "password": "s3cret-Pass",
        }
    )
    assert parsed.connection.address == ServerAddress("dc1.corp.example", 636, use_ssl=True)
    assert parsed.attributes.phones[PhoneKind.BUSINESS] == ("telephoneNumber", "pager")
    assert parsed.attributes.phones[PhoneKind.OTHER] == ("ipPhone", "otherIpPhone")
    assert parsed.attributes.company == "department" and parsed.attributes.display_name == "displayName"
    assert parsed.create_container == "DC=corp,DC=example"  # defaults to the base DN
    assert "s3cret-Pass" not in repr(parsed)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("ldap://ldap.example", ServerAddress("ldap.example", 389, use_ssl=False)),
        ("LDAPS://ldap.example:3269", ServerAddress("ldap.example", 3269, use_ssl=True)),
        ("ldap://[::1]:1389/", ServerAddress("::1", 1389, use_ssl=False)),
    ],
)
def test_urls(url: str, address: ServerAddress) -> None:
    assert parse_url(url) == address


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "https://ldap.example"}, "The setting 'url' must start with ldap:// or ldaps://"),
        ({"url": "ldap://ldap.example/dc=example"}, "The setting 'url' must be just ldap(s)://server[:port]"),
        ({"url": "ldap://ldap.example:99999"}, "The port in the setting 'url' is not a number"),
        ({"base_dn": ""}, "The setting 'base_dn' is empty"),
        ({"preset": "novell"}, "The setting 'preset' must be one of openldap, active-directory"),
        ({"timeout": 0}, "The setting 'timeout' must be a number of seconds"),
        ({"activity_attribute": "desc ription"}, "The setting 'activity_attribute' must be an attribute name"),
        ({"attr_mobile_phone": "mobile,(x)"}, "The setting 'attr_mobile_phone' must be an attribute name"),
        ({"create_container": "contacts"}, "The setting 'create_container' is not a distinguished name"),
        ({"ca_file": "ca.pem"}, "The setting 'ca_file' must be a full path"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_fix(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({**BASE_SETTINGS, **changes})
    assert raised.value.message.startswith(message)


# --- entries and contacts -----------------------------------------------------------------------------


def ad_user() -> Entry:
    return Entry(
        "CN=Dana Whitfield,OU=Sales,DC=corp,DC=example",
        {
            "objectguid": [GUID.bytes_le],
            "displayname": [b"Dana Whitfield"],
            "givenname": [b"Dana"],
            "sn": [b"Whitfield"],
            "company": [b"Northwind Traders"],
            "title": [b"Head of Sales"],
            "mail": [b"dana@northwind.example"],
            "telephonenumber": [b"+44 20 7946 0958"],
            "othertelephone": [b"+44 20 7946 0100", b"+44 20 7946 0101"],
            "mobile": [b"07700 900123"],
            "ipphone": [b"4711"],
            "info": [b"Prefers email."],
            "thumbnailphoto": [PNG],
        },
    )


def test_an_active_directory_user_becomes_a_contact() -> None:
    contact = to_contact(ad_user(), AD_PRESET.attributes, include_picture=True)
    assert contact.id == str(GUID)
    assert (contact.display_name, contact.first_name, contact.last_name) == ("Dana Whitfield", "Dana", "Whitfield")
    assert (contact.company, contact.job_title, contact.emails) == (
        "Northwind Traders",
        "Head of Sales",
        ["dana@northwind.example"],
    )
    assert contact.phones == [
        Phone("+44 20 7946 0958", PhoneKind.BUSINESS),
        Phone("+44 20 7946 0100", PhoneKind.BUSINESS),
        Phone("+44 20 7946 0101", PhoneKind.BUSINESS),
        Phone("07700 900123", PhoneKind.MOBILE),
        Phone("4711", PhoneKind.OTHER),
    ]
    assert contact.notes == "Prefers email."
    assert contact.picture is not None and contact.picture.mime_type == "image/png"
    assert contact.custom == {"Directory entry": "CN=Dana Whitfield,OU=Sales,DC=corp,DC=example"}
    assert to_contact(ad_user(), AD_PRESET.attributes, include_picture=False).picture is None


def test_an_inetorgperson_becomes_a_contact() -> None:
    entry = Entry(
        "cn=Zoë Lefèvre,ou=people,dc=example,dc=com",
        {
            "entryuuid": [str(GUID).encode()],
            "cn": ["Zoë Lefèvre".encode()],
            "o": ["Société Contoso".encode()],
            "facsimiletelephonenumber": [b"+33 1 42 68 53 01"],
            "description": [b"first call", b"second call"],
            "jpegphoto": [TINY_JPEG],
        },
    )
    contact = to_contact(entry, OPENLDAP_PRESET.attributes, include_picture=True)
    assert (contact.id, contact.name, contact.company) == (str(GUID), "Zoë Lefèvre", "Société Contoso")
    assert contact.phones == [Phone("+33 1 42 68 53 01", PhoneKind.FAX)]
    assert contact.notes == "first call\n\nsecond call"
    assert contact.picture is not None and contact.picture.mime_type == "image/jpeg"


def test_a_new_openldap_contact_is_an_inetorgperson_with_a_surname() -> None:
    contact = Contact(display_name="Front Desk", phones=[Phone("+44 20 7946 0000", PhoneKind.BUSINESS)])
    name, values = new_entry(contact, OPENLDAP_PRESET, OPENLDAP_PRESET.attributes)
    assert name == "Front Desk"
    assert values == {
        "objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson"],
        "cn": ["Front Desk"],
        "sn": ["Front Desk"],  # person requires a surname
        "telephoneNumber": ["+44 20 7946 0000"],
    }


def test_a_new_active_directory_contact_is_a_contact_object() -> None:
    contact = Contact(
        first_name="Grace",
        last_name="Hopper",
        company="Navy",
        emails=["grace@navy.example"],
        phones=[Phone("07700 900777", PhoneKind.MOBILE), Phone("4712", PhoneKind.OTHER)],
    )
    name, values = new_entry(contact, AD_PRESET, AD_PRESET.attributes)
    assert name == "Grace Hopper"
    assert values == {
        "objectClass": ["top", "person", "organizationalPerson", "contact"],
        "cn": ["Grace Hopper"],
        "displayName": ["Grace Hopper"],
        "givenName": ["Grace"],
        "sn": ["Hopper"],
        "company": ["Navy"],
        "mail": ["grace@navy.example"],
        "mobile": ["07700 900777"],
        "ipPhone": ["4712"],
    }


def test_a_patch_replaces_the_first_email_and_number_and_keeps_the_others() -> None:
    patch = ContactPatch(company="Contoso", email="dana@contoso.example", phone="+44 20 7946 0999", notes="")
    changes = patch_changes(ad_user(), AD_PRESET.attributes, patch)
    assert changes == {
        "company": [(ldap3.MODIFY_REPLACE, ["Contoso"])],
        "info": [(ldap3.MODIFY_REPLACE, [])],  # emptied: the attribute is removed
        "mail": [(ldap3.MODIFY_REPLACE, ["dana@contoso.example"])],
        "telephoneNumber": [(ldap3.MODIFY_REPLACE, ["+44 20 7946 0999"])],
    }
    none_yet = Entry("cn=x,dc=example", {})
    assert patch_changes(none_yet, OPENLDAP_PRESET.attributes, ContactPatch(phone="0161 496 0000")) == {
        "telephoneNumber": [(ldap3.MODIFY_REPLACE, ["0161 496 0000"])]
    }


def test_a_logged_call_is_one_value_and_a_single_valued_log_keeps_the_newest_calls() -> None:
    call = Activity(
        "Outgoing call: 100 -> +44 20 7946 0958",
        "Direction: Outbound\nDuration: 0:42",
        CallDirection.OUTBOUND,
        datetime(2026, 11, 25, 14, 3, tzinfo=UTC),
    )
    value = activity_value(call)
    assert value == "2026-11-25 14:03 UTC Outgoing call: 100 -> +44 20 7946 0958\nDirection: Outbound\nDuration: 0:42"
    assert appended_text("", value) == value
    assert appended_text("older", value) == f"older\n\n{value}"
    long = appended_text("x" * MAX_APPENDED_TEXT, value)
    assert len(long) == MAX_APPENDED_TEXT and long.endswith(value)


# --- distinguished names ------------------------------------------------------------------------------


def test_dns_are_compared_as_dns() -> None:
    assert is_under("cn=Dana,ou=people,dc=example,dc=com", "DC=Example, DC=com")  # spaces and case as people type
    assert is_under("dc=example,dc=com", "dc=example,dc=com")
    assert not is_under("cn=Dana,ou=people,dc=example,dc=org", "dc=example,dc=com")
    assert not is_under("not a dn", "dc=example,dc=com")
    assert parent_of(r"CN=Whitfield\, Dana,OU=Sales,DC=corp") == "OU=Sales,DC=corp"
    assert parse_settings({**BASE_SETTINGS, "base_dn": "ou=people, dc=example, dc=com"}).base_dn == (
        "ou=people, dc=example, dc=com"
    )
