"""Test connection (`partnercrmd books test`, the Test button): reach, sign in, the number index, logging, popping.

The connector passes in what the checks use (its settings, client, index and how to refresh it), so this module
needs nothing from the connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partnercrmd.sdk import AddinError, CheckResult, FetchEntries, RefreshedPhoneIndex, SettingsCheck

from .client import BottleCrmClient
from .settings import ID_PLACEHOLDER, BookSettings


async def run_checks(
    settings: BookSettings,
    client: BottleCrmClient,
    index: RefreshedPhoneIndex,
    fetch: FetchEntries,
) -> list[CheckResult]:
    """Reach and sign in (the later checks need them), then search through the number index, logging, popping.

    `fetch` reads every contact's numbers, to fill the index now.
    """
    where = client.where
    try:
        page = await client.list_contacts(limit=1)
    except AddinError as exc:
        if exc.code in ("cannot_connect", "timeout"):
            return [CheckResult("reach", False, exc.message, exc.code)]
        return [
            CheckResult("reach", True, f"BottleCRM at {where} answered."),
            CheckResult("authenticate", False, exc.message, exc.code),
        ]
    results = [
        CheckResult("reach", True, f"BottleCRM at {where} answered."),
        CheckResult("authenticate", True, f"The token reads contacts ({page.count:,} visible to it)."),
        await index.check(fetch, record="contact", records="BottleCRM contacts"),
    ]
    if settings.log_calls:
        results.append(await check_logging(client))
    results.append(check_pop(settings))
    return results


async def check_logging(client: BottleCrmClient) -> CheckResult:
    try:
        allowed, said = await client.may_log_interactions()
    except AddinError as exc:
        return CheckResult("log_calls", False, exc.message, exc.code)
    if allowed:
        return CheckResult("log_calls", True, "The token may log calls on contacts.")
    return CheckResult(
        "log_calls",
        False,
        f"The token may not log calls ({said}). Use a personal access token with the scopes "
        "interactions:write and contacts:write (the organisation key only reads), or turn off 'log_calls'.",
        "invalid_auth",
    )


def check_pop(settings: BookSettings) -> CheckResult:
    if not settings.web_url_template:
        return CheckResult(
            "pop", True, "Records open on partnercrmd's own page; set 'web_url_template' to open BottleCRM's."
        )
    sample = settings.web_url_template.replace(ID_PLACEHOLDER, "<contact id>")
    return CheckResult("pop", True, f"Records open at {sample}.")


async def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Before a book's settings are saved: every rule `BookSettings.from_mapping` applies (ConfigError names the
    setting), and with `connect` the API reached and the token allowed to read contacts (AddinError otherwise)."""
    parsed = BookSettings.from_mapping(settings)
    if connect:
        client = BottleCrmClient(parsed.url, parsed.token, timeout=float(parsed.timeout_seconds))
        try:
            await client.list_contacts(limit=1)
        finally:
            await client.close()
    return SettingsCheck()
