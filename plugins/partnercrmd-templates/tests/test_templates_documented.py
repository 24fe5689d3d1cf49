"""What users report breaking, for the templates built from their vendors' published documentation (issue #16.2:
Zammad, EspoCRM, Dolibarr, ERPNext, Agile CRM, Zoho Desk; no machine-readable description exists for these, so each
reproduction follows the vendor's pages, named in its docstring).

test_templates_catalogue.py runs every behaviour test of these templates against their reproductions (numbers in
other formats, names, pop, calls logged against the contact matched, created contacts, wrong credentials, 429
Retry-After). Here, through the same reproductions: callers who share one number (an office's switchboard, a
family) are all found; and a CRM slower than the phone client's deadline costs only its own book's records (the
other books answer, the slow one says why it has none); and Zoho Desk signs in and works in the user's own Zoho
data centre.
"""

from __future__ import annotations

import pytest
from partnercrmd_templates import discover

# The catalogue's fixtures: the reproduction (a vendor contract where one exists) and its book.
from test_templates_catalogue import book, crm

__all__ = ["book", "crm"]  # fixtures used by name

DOCUMENTED = ("zammad", "espocrm", "dolibarr", "erpnext", "agilecrm", "zoho-desk")


@pytest.fixture(params=DOCUMENTED)
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


ZOHO_DATA_CENTRES = ("com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa")


@pytest.mark.parametrize("data_centre", ZOHO_DATA_CENTRES)
def test_zoho_desk_signs_in_at_the_accounts_server_of_the_books_data_centre(data_centre: str) -> None:
    """Zoho keeps each account in one data centre: its accounts server there signs the user in (the scopes
    comma-separated, as Zoho wants them; a refresh token asked for with access_type=offline), and the token is sent
    as Zoho-oauthtoken."""
    zoho_desk = next(i for i in discover().integrations if i.id == "zoho-desk")
    assert zoho_desk.sign_in is not None
    where = zoho_desk.sign_in({"data_centre": data_centre, "org_id": "2389290", "department_id": "3000000007043"})
    assert where is not None
    assert (where.authorize_url, where.token_url) == (
        f"https://accounts.zoho.{data_centre}/oauth/v2/auth",
        f"https://accounts.zoho.{data_centre}/oauth/v2/token",
    )
    assert where.token_scheme == "Zoho-oauthtoken" and where.authorize_params["access_type"] == "offline"
    assert where.scope_separator.join(where.scopes).split(",") == [
        "Desk.contacts.READ",
        "Desk.contacts.CREATE",
        "Desk.search.READ",
        "Desk.activities.calls.CREATE",
    ]
    assert where.client_id == ""  # the partner's Zoho app, from its branding file
