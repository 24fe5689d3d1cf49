"""Test connection (`partnercrmd books test`, the Test button): the session bus, EDS, the chosen books, their contacts.

The connector passes in what the checks use (its EDS connection and settings), so this module needs nothing from
the connector.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from partnercrmd.sdk import AddinError, CheckResult, SettingsCheck

from .client import Eds
from .contacts import book_entries, chosen_sources
from .settings import EvolutionSettings, parse_settings


async def run_checks(eds: Eds, settings: EvolutionSettings, region: str | None) -> Sequence[CheckResult]:
    """EDS reachable, the chosen books switched on, each one read; stops at the first failure."""
    try:
        sources = await eds.sources()
    except AddinError as exc:
        return [CheckResult("service", False, exc.message, exc.code)]
    results = [CheckResult("service", True, f"Evolution Data Server answers ({len(sources)} address books).")]
    try:
        chosen = chosen_sources(sources, settings.address_books)
    except AddinError as exc:
        return [*results, CheckResult("address_books", False, exc.message, exc.code)]
    if not chosen:
        message = "Every address book is switched off; switch one on in GNOME Contacts or Evolution."
        return [*results, CheckResult("address_books", False, message, "cannot_connect")]
    results.append(CheckResult("address_books", True, "Address books: " + ", ".join(s.name for s in chosen) + "."))
    for source in chosen:
        try:
            entries = await asyncio.to_thread(book_entries, source, await eds.vcards(source.uid), region)
        except AddinError as exc:
            return [*results, CheckResult(f"book {source.name}", False, exc.message, exc.code)]
        numbers = sum(len(entry.phone_keys) for entry in entries)
        results.append(
            CheckResult(f"book {source.name}", True, f"{len(entries)} contacts with {numbers} phone numbers.")
        )
    return results


def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Before a book's settings are saved: the settings parsed (EDS is asked by Test connection, not here: it
    lives in the desktop session, which a command run elsewhere may not reach)."""
    parse_settings(settings)
    return SettingsCheck()
