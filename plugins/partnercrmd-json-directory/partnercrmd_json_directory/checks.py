"""Test connection (`partnercrmd books test`, the Test button): the file, its JSON, its entries, the record address.

The connector passes in what the checks use (the settings and how a record's address is made), so this module
needs nothing from the connector.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from partnercrmd.sdk import AddinError, CheckResult, SettingsCheck

from .client import build_directory, parse_list, read_file
from .settings import DirectorySettings, parse_settings


def run_checks(
    settings: DirectorySettings, region: str | None, record_url: Callable[[str], str | None]
) -> Sequence[CheckResult]:
    """File readable, a JSON list, every entry a person with a unique id; stops at the first failure."""
    path = settings.path
    try:
        raw = read_file(path)
    except AddinError as exc:
        return [CheckResult("file", False, exc.message, exc.code)]
    results = [CheckResult("file", True, f"{path} can be read ({len(raw):,} bytes).")]
    try:
        items = parse_list(raw, path)
    except AddinError as exc:
        return [*results, CheckResult("json", False, exc.message, exc.code)]
    results.append(CheckResult("json", True, "The file holds a JSON list."))
    try:
        directory = build_directory(items, settings.id_field, region)
    except AddinError as exc:
        return [*results, CheckResult("entries", False, exc.message, exc.code)]
    numbers = sum(len(entry.phone_keys) for entry in directory.entries)
    count = len(directory.entries)
    results.append(CheckResult("entries", True, f"{count} entries with {numbers} phone numbers."))
    if directory.entries:
        example = record_url(directory.entries[0].contact.id)
        if example is not None:
            results.append(CheckResult("url_template", True, f"Records open at addresses such as {example}."))
    return results


def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Before a book's settings are saved: every rule `parse_settings` applies (ConfigError names the setting),
    and with `connect` the file read as a JSON list (AddinError otherwise; Save anyway when it is written later)."""
    parsed = parse_settings(settings)
    if connect:
        parse_list(read_file(parsed.path), parsed.path)
    return SettingsCheck()
