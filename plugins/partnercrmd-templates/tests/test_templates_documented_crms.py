"""What users report breaking, for the templates built from their vendors' published documentation (issue #16.4):
Freshsales, Copper, Close, Insightly and Zendesk Sell.

test_templates_catalogue.py runs every behaviour test of these templates (numbers in other formats, names, pop,
call logging, creating, wrong credentials, 429 with Retry-After) against their reproductions, which follow the
documentation pages each names. Here, through the same reproductions and the daemon's HTTP API: callers who share
one number (a switchboard, a family) are all found, and a CRM slower than the search deadline costs the phone
client only that book's records (the others' arrive in time, that book says why it has none).
"""

from __future__ import annotations

import pytest

# The catalogue's fixtures: the reproduction (with its vendor contract where there is one) and its book.
from test_templates_catalogue import book, crm

__all__ = ["book", "crm"]  # fixtures used by name

DOCUMENTED = ("freshsales", "copper", "close", "insightly", "zendesk-sell")


@pytest.fixture(params=DOCUMENTED)
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)
