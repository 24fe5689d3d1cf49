"""What users report breaking (issue #16.4), for Odoo: the same tests as the other templates built from their
vendors' documentation (test_templates_documented_crms.py), run against tests/crm_odoo.py through the daemon's
HTTP API. Callers who share one number are all found (Odoo keeps numbers as typed; the `=ilike` search finds
both), and an Odoo slower than the search deadline costs the phone client only that book's records. The other
behaviour tests (numbers in other formats, names, pop, the call note, creating, a wrong key, 429 with
Retry-After) run for Odoo in test_templates_catalogue.py.
"""

from __future__ import annotations

import pytest

# The catalogue's fixtures (the reproduction and its book) and the documented CRMs' tests and second account.
from test_templates_catalogue import book, crm
from test_templates_documented_crms import (
    second_crm,
    test_a_crm_slower_than_the_deadline_costs_only_its_own_records,
    test_callers_sharing_a_number_are_all_found,
)

__all__ = [  # fixtures and tests used by name, collected here for Odoo
    "book",
    "crm",
    "second_crm",
    "test_a_crm_slower_than_the_deadline_costs_only_its_own_records",
    "test_callers_sharing_a_number_are_all_found",
]


@pytest.fixture(params=["odoo"])
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)
