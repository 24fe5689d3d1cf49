"""Which LDAP attributes hold what: the presets for OpenLDAP (inetOrgPerson) and Active Directory.

A user picks a preset and may override any attribute in the book's settings
(`attr_first_name`, `attr_business_phone`…); phone settings take a
comma-separated list, the first attribute being the one partnercrmd writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from partnercrmd.sdk import PhoneKind

OPENLDAP = "openldap"
ACTIVE_DIRECTORY = "active-directory"
PRESET_NAMES = (OPENLDAP, ACTIVE_DIRECTORY)

PHONE_KINDS = (PhoneKind.BUSINESS, PhoneKind.MOBILE, PhoneKind.HOME, PhoneKind.FAX, PhoneKind.OTHER)
"""The order phones are listed in a contact (the first is the one `SaveRecord` changes)."""


@dataclass(frozen=True)
class AttributeMap:
    """LDAP attribute names for each part of a contact; an empty name (or tuple) means "not kept"."""

    id: str
    display_name: str
    first_name: str
    last_name: str
    company: str
    job_title: str
    email: str
    notes: str
    picture: str
    phones: Mapping[PhoneKind, tuple[str, ...]]

    def phone_attributes(self) -> tuple[str, ...]:
        """Every phone attribute, in contact order, without repeats."""
        seen: dict[str, None] = {}
        for kind in PHONE_KINDS:
            for name in self.phones.get(kind, ()):
                seen.setdefault(name, None)
        return tuple(seen)

    def name_attributes(self) -> tuple[str, ...]:
        """The attributes a name search looks in: names, company and email."""
        names = (self.display_name, self.first_name, self.last_name, self.company, self.email)
        return tuple(dict.fromkeys(n for n in names if n))

    def read_attributes(self, include_picture: bool) -> list[str]:
        """What a search asks the server for (the picture only when wanted: photos are large)."""
        names = [
            self.id,
            self.display_name,
            self.first_name,
            self.last_name,
            self.company,
            self.job_title,
            self.email,
            self.notes,
            *self.phone_attributes(),
        ]
        if include_picture:
            names.append(self.picture)
        return list(dict.fromkeys(n for n in names if n))

    def with_overrides(self, overrides: Mapping[str, str]) -> AttributeMap:
        """This map with the user's `attr_*` settings applied (empty settings keep the preset's choice)."""

        def pick(key: str, preset_choice: str) -> str:
            return overrides.get(key, "").strip() or preset_choice

        phones = dict(self.phones)
        for kind, key in PHONE_SETTING_KEYS.items():
            listed = tuple(n.strip() for n in overrides.get(key, "").split(",") if n.strip())
            if listed:
                phones[kind] = listed
        return AttributeMap(
            id=pick("id", self.id),
            display_name=pick("display_name", self.display_name),
            first_name=pick("first_name", self.first_name),
            last_name=pick("last_name", self.last_name),
            company=pick("company", self.company),
            job_title=pick("job_title", self.job_title),
            email=pick("email", self.email),
            notes=pick("notes", self.notes),
            picture=pick("picture", self.picture),
            phones=phones,
        )


PHONE_SETTING_KEYS: Mapping[PhoneKind, str] = {
    PhoneKind.BUSINESS: "business_phone",
    PhoneKind.MOBILE: "mobile_phone",
    PhoneKind.HOME: "home_phone",
    PhoneKind.FAX: "fax",
    PhoneKind.OTHER: "other_phone",
}


@dataclass(frozen=True)
class Preset:
    """A kind of directory: its attributes, which entries are contacts, and how new contacts are made."""

    name: str
    attributes: AttributeMap
    object_filter: str
    """An LDAP filter selecting the entries that are people or contacts."""
    create_classes: tuple[str, ...]
    """objectClass values of a contact partnercrmd creates."""
    rdn_attribute: str = "cn"
    modified_attribute: str = ""
    """The server-kept GeneralizedTime of an entry's last change, usable in a `>=` filter ("" when none)."""


PRESETS: Mapping[str, Preset] = {
    OPENLDAP: Preset(
        name=OPENLDAP,
        attributes=AttributeMap(
            id="entryUUID",
            display_name="cn",
            first_name="givenName",
            last_name="sn",
            company="o",
            job_title="title",
            email="mail",
            notes="description",
            picture="jpegPhoto",
            phones={
                PhoneKind.BUSINESS: ("telephoneNumber",),
                PhoneKind.MOBILE: ("mobile",),
                PhoneKind.HOME: ("homePhone",),
                PhoneKind.FAX: ("facsimileTelephoneNumber",),
                PhoneKind.OTHER: (),
            },
        ),
        object_filter="(objectClass=inetOrgPerson)",
        create_classes=("top", "person", "organizationalPerson", "inetOrgPerson"),
        modified_attribute="modifyTimestamp",
    ),
    ACTIVE_DIRECTORY: Preset(
        name=ACTIVE_DIRECTORY,
        attributes=AttributeMap(
            id="objectGUID",
            display_name="displayName",
            first_name="givenName",
            last_name="sn",
            company="company",
            job_title="title",
            email="mail",
            notes="info",
            picture="thumbnailPhoto",
            phones={
                PhoneKind.BUSINESS: ("telephoneNumber", "otherTelephone"),
                PhoneKind.MOBILE: ("mobile", "otherMobile"),
                PhoneKind.HOME: ("homePhone", "otherHomePhone"),
                PhoneKind.FAX: ("facsimileTelephoneNumber", "otherFacsimileTelephoneNumber"),
                PhoneKind.OTHER: ("ipPhone", "otherIpPhone"),
            },
        ),
        # Users and contacts; computers are users too, but not of category person.
        object_filter="(&(objectCategory=person)(|(objectClass=user)(objectClass=contact)))",
        create_classes=("top", "person", "organizationalPerson", "contact"),
        # AD refuses filters on its constructed modifyTimestamp; whenChanged is the stored one (kept per DC).
        modified_attribute="whenChanged",
    ),
}
