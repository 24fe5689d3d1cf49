"""What the new cloud templates (issue #16.2: Intercom, Capsule CRM, Twenty, Clio) add beyond the catalogue's tests.

test_templates_catalogue.py runs every behaviour test of these templates against their reproductions, held to
each vendor's own API description. Here: callers who share one number (an office's switchboard, a family)
are all found, through the same reproductions and contracts; and the hosting regions each template offers
send the user to the right place (Clio's sign-in, Intercom's web app).
"""

from __future__ import annotations

import pytest
from aiohttp import web
from partnercrmd_templates import discover
from templates_fake_crm import FakeCrm

# The catalogue's fixtures: the reproduction with its vendor contract (checked when the test ends) and its book.
from test_templates_catalogue import CRMS, book, book_records, crm, record_id

from partnercrmd.sdk import Integration
from partnercrmd.testing import ApiSession, RecordingOpener, action, configure_book, remove_default_book

__all__ = ["book", "crm"]  # fixtures used by name

NEW = ("capsule", "clio", "intercom", "twenty")


@pytest.fixture(params=NEW)
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def integration(integration_id: str) -> Integration:
    return next(i for i in discover().integrations if i.id == integration_id)


def test_clio_signs_in_where_the_account_is_hosted() -> None:
    clio = integration("clio")
    assert clio.sign_in is not None
    for region, host in [("us", "app.clio.com"), ("eu", "eu.app.clio.com"), ("ca", "ca.app.clio.com")]:
        where = clio.sign_in({"region": region})
        assert where is not None
        assert (where.authorize_url, where.token_url) == (
            f"https://{host}/oauth/authorize",
            f"https://{host}/oauth/token",
        )
        assert where.userinfo_url == f"https://{host}/api/v4/users/who_am_i.json?fields=name,email"
        assert where.client_id == ""  # the partner's Clio app, from the branding file
        assert where.account_name is not None
        assert where.account_name({"data": {"id": 1, "name": "Dana Whitfield", "email": "dana@northwind.example"}}) == (
            "dana@northwind.example"
        )


@pytest.mark.parametrize("template_id", ["intercom"])
async def test_intercom_opens_the_contact_in_its_regions_web_app(
    api: ApiSession, partnercrmd_app: web.Application, crm: FakeCrm, partnercrmd_opener: RecordingOpener
) -> None:
    """A workspace hosted in the EU is opened at app.eu.intercom.com (its API at api.eu.intercom.io)."""
    await remove_default_book(partnercrmd_app)
    eu = await configure_book(partnercrmd_app, "intercom", name="EU", **CRMS["intercom"].settings(crm), region="eu")
    [dana] = await book_records(api, eu, "+44 20 7946 0958")
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    workspace = CRMS["intercom"].WORKSPACE
    assert partnercrmd_opener.urls == [
        f"https://app.eu.intercom.com/a/apps/{workspace}/users/{record_id(dana, crm)}/all-conversations"
    ]
