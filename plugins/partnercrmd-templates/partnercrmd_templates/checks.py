"""Test connection of a template book: one search (by number when the template can look numbers up), then what failed.

The connector passes in what the checks use (the template's name and operations, its search), so this module
needs nothing from the connector.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

from partnercrmd.sdk import AddinError, CheckResult, Contact, SearchQuery

SAMPLE_NUMBER = "+442079460000"


async def run_checks(
    name: str, operations: Collection[str], search: Callable[[SearchQuery], Awaitable[Sequence[Contact]]]
) -> list[CheckResult]:
    """Reach and sign in through one search; a template without a search has nothing to test with."""
    if "search" not in operations and "lookup" not in operations:
        return [CheckResult("reach", True, "This template defines no search to test with.")]
    try:
        if "lookup" in operations:
            await search(SearchQuery(SAMPLE_NUMBER, 1, number=SAMPLE_NUMBER))
        else:
            await search(SearchQuery("partnercrmd", 1))
    except AddinError as exc:
        if exc.code in ("cannot_connect", "timeout"):
            return [CheckResult("reach", False, exc.message, exc.code)]
        return [
            CheckResult("reach", True, f"{name} answered."),
            CheckResult("authenticate", False, exc.message, exc.code),
        ]
    return [
        CheckResult("reach", True, f"{name} answered."),
        CheckResult("search", True, "A search worked."),
    ]
