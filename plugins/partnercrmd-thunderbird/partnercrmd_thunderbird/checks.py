"""Test connection (`partnercrmd books test`, the Test button): the profile, its address books, their cards.

The connector passes in what the checks use (the settings and its folder for copies), so this module needs
nothing from the connector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from partnercrmd.sdk import AddinError, CheckResult, SettingsCheck

from . import client
from .settings import ThunderbirdSettings, parse_settings


def run_checks(settings: ThunderbirdSettings, workdir: Path, region: str | None) -> Sequence[CheckResult]:
    """Profile found, the chosen books present, each one read; stops at the first failure."""
    try:
        profile = client.find_profile(settings.profile)
    except AddinError as exc:
        return [CheckResult("profile", False, exc.message, exc.code)]
    results = [CheckResult("profile", True, f"Thunderbird profile {profile}.")]
    try:
        books = client.chosen_books(client.address_books(profile), settings.address_books)
    except AddinError as exc:
        return [*results, CheckResult("address_books", False, exc.message, exc.code)]
    if not books:
        message = f"The profile {profile} has no address book yet; start Thunderbird once with this profile."
        return [*results, CheckResult("address_books", False, message, "cannot_connect")]
    results.append(CheckResult("address_books", True, "Address books: " + ", ".join(b.name for b in books) + "."))
    for book in books:
        try:
            entries, _ = client.read_book(book, workdir, region)
        except AddinError as exc:
            return [*results, CheckResult(f"book {book.name}", False, exc.message, exc.code)]
        numbers = sum(len(entry.phone_keys) for entry in entries)
        results.append(CheckResult(f"book {book.name}", True, f"{len(entries)} contacts with {numbers} phone numbers."))
    return results


def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Before a book's settings are saved: every rule `parse_settings` applies (ConfigError names the setting),
    and with `connect` the profile found and the named books in it (AddinError otherwise)."""
    parsed = parse_settings(settings)
    if connect:
        client.chosen_books(client.address_books(client.find_profile(parsed.profile)), parsed.address_books)
    return SettingsCheck()
