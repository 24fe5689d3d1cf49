"""Dialling rules: how a normalised number becomes what the PBX wants to be sent.

Outside-line prefix, international access code, E.164 or national form,
internal extensions left alone. Every event still carries the E.164 form.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneNumberFormat

from .. import phone
from .detect import FoundNumber


class DialFormat(StrEnum):
    E164 = "e164"
    """Send +CC… as it is (SIP trunks and most cloud PBXs)."""
    NATIONAL = "national"
    """Domestic numbers in national form (0…), foreign ones with the region's international access code."""


@dataclass(frozen=True)
class DialTarget:
    destination: str
    """What the PDC dials: rules applied."""
    e164: str
    """The number in E.164 (empty for an internal extension)."""
    display: str
    """The number for people."""

    def event(self) -> dict[str, str]:
        return {"Destination": self.destination, "E164": self.e164, "DisplayNumber": self.display}


@dataclass(frozen=True)
class DiallingRules:
    region: str
    number_format: DialFormat = DialFormat.E164
    outside_prefix: str = ""
    extension_lengths: frozenset[int] = frozenset({3, 4})

    def internal(self, text: str) -> DialTarget | None:
        """A bare internal extension (e.g. 2001): dialled as it is, never prefixed."""
        digits = phonenumbers.normalize_digits_only(text)
        stripped = "".join(c for c in text if not c.isspace())
        if digits and stripped == digits and len(digits) in self.extension_lengths:
            return DialTarget(digits, "", digits)
        return None

    def apply(self, found: FoundNumber) -> DialTarget:
        number = phonenumbers.parse(found.e164, None)
        display = phone.display_number(found.e164, self.region)
        if found.extension:
            display = f"{display} ext. {found.extension}"
        if self.number_format is DialFormat.E164:
            destination = found.e164
        elif phonenumbers.region_code_for_number(number) == self.region:
            national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            destination = phonenumbers.normalize_diallable_chars_only(national)
        else:
            destination = international_prefix(self.region) + found.e164[1:]
        return DialTarget(self.outside_prefix + destination, found.e164, display)


def international_prefix(region: str) -> str:
    """The access code for calls abroad from `region` (00 in most of the world, 011 from North America)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return "00"
    if metadata.preferred_international_prefix:
        return str(metadata.preferred_international_prefix)
    prefix = metadata.international_prefix or ""
    return prefix if prefix.isdigit() else "00"
