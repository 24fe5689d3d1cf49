"""Test connection (`partnercrmd books test`, the Test button): reach and sign in, the users' numbers, the number
index, logging, popping.

The connector passes in what the checks use (its settings, client, index and how to refresh it), so this module
needs nothing from the connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partnercrmd.sdk import AddinError, CheckResult, FetchEntries, RefreshedPhoneIndex, SettingsCheck

from .client import RtClient
from .settings import BookSettings, LogCalls

NO_SUCH_ORGANIZATION = "partnercrmd: no user has this organisation \u2400"
"""A condition no user meets: RT applies it only for a token whose user has AdminUsers (see `check_users`)."""


async def run_checks(
    settings: BookSettings,
    client: RtClient,
    index: RefreshedPhoneIndex,
    fetch: FetchEntries,
) -> list[CheckResult]:
    """Reach and sign in (the later checks need them), then the users' numbers, the index, logging, popping.

    `fetch` reads every contact's numbers, to fill the index now.
    """
    try:
        system = await client.system()
    except AddinError as exc:
        if exc.code in ("cannot_connect", "timeout", "not_found", "invalid_data"):
            return [CheckResult("reach", False, exc.message, exc.code)]
        return [
            CheckResult("reach", True, f"Request Tracker at {client.where} answered."),
            CheckResult("authenticate", False, exc.message, exc.code),
        ]
    version = str(system.get("Version", "")) or "unknown version"
    results = [
        CheckResult("reach", True, f"Request Tracker {version} at {client.where} answered."),
        CheckResult("authenticate", True, "The token signs in."),
    ]
    users = await check_users(client)
    results.append(users)
    if not users.ok:
        return results
    results.append(await index.check(fetch, record="user", records="RT users"))
    if settings.log_calls is not LogCalls.OFF:
        results.append(await check_logging(settings, client))
    results.append(
        CheckResult("pop", True, f"Users open on RT's user summary page, {client.url}/User/Summary.html?id=<user id>.")
    )
    return results


async def check_users(client: RtClient) -> CheckResult:
    """Whether the token's user may search users and see their phone numbers: both need the AdminUsers right.

    REST2 drops a search condition on a field the user may not search (Resource/Users.pm): without AdminUsers a
    condition on Organization is dropped, so a search no user can meet still answers users.
    """
    try:
        page = await client.users([{"field": "Organization", "operator": "=", "value": NO_SUCH_ORGANIZATION}])
    except AddinError as exc:
        if exc.code == "invalid_auth":
            return CheckResult(
                "users",
                False,
                "RT does not let the token's user list users: it must be a privileged user with the AdminUsers "
                "right (Admin > Global > Group Rights or User Rights).",
                exc.code,
            )
        return CheckResult("users", False, exc.message, exc.code)
    if page.items:
        return CheckResult(
            "users",
            False,
            "The token's user lacks the AdminUsers right, so RT hides users' phone numbers from it and callers "
            "cannot be found; grant AdminUsers (Admin > Global > User Rights) or use another user's token.",
            "invalid_auth",
        )
    return CheckResult("users", True, "The token's user may search users and read their phone numbers.")


async def check_logging(settings: BookSettings, client: RtClient) -> CheckResult:
    """The queue new tickets go to exists and the token's user sees it (RT cannot say whether it may write there
    without writing)."""
    try:
        queue = await client.queue(settings.queue)
    except AddinError as exc:
        return CheckResult("log_calls", False, exc.message, exc.code)
    if queue is None or str(queue.get("Disabled", "0")) not in ("0", ""):
        return CheckResult(
            "log_calls",
            False,
            f"RT has no enabled queue '{settings.queue}' the token's user can see; check the setting 'queue' "
            "(a queue's name or number) and that the user may see it (SeeQueue).",
            "not_found",
        )
    name = str(queue.get("Name", settings.queue))
    how = (
        "as comments on the caller's most recently updated open ticket, or a new ticket in"
        if settings.log_calls is LogCalls.COMMENT
        else "as new tickets in"
    )
    return CheckResult(
        "log_calls",
        True,
        f"Calls are logged {how} queue '{name}' (the user needs CreateTicket and CommentOnTicket there).",
    )


async def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Before a book's settings are saved: every rule `BookSettings.from_mapping` applies (ConfigError names the
    setting), and with `connect` RT reached and the token signed in (AddinError otherwise)."""
    parsed = BookSettings.from_mapping(settings)
    if connect:
        client = RtClient(parsed.url, parsed.token, timeout=float(parsed.timeout_seconds))
        try:
            await client.system()
        finally:
            await client.close()
    return SettingsCheck()
