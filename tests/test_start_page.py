"""The start page "Which CRM do you use?": where the pages open until an integration beyond the local book is
set up; a search over names, aliases and categories that leads straight to the integration's add form."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest

from partnercrmd import appkeys
from partnercrmd.branding import load_branding_file
from partnercrmd.catalogue import CATEGORIES, KNOWN_INTEGRATIONS
from partnercrmd.testing import configure_book, write_branding
from partnercrmd.ui.start import badge_colour, badge_initials
from tests.ui_support import Client, log_in, page_text

CLOUD_CRMS = ("salesforce", "hubspot", "zoho-crm", "dynamics365", "pipedrive")


def cards(page: str) -> list[str]:
    """The integration ids of the cards on a start page, in page order."""
    return re.findall(r'<li class="card" data-integration="([^"]+)"', page)


def category_of(page: str, integration_id: str) -> str:
    """The heading of the category section a card is in."""
    before = page[: page.index(f'data-integration="{integration_id}"')]
    return html_lib.unescape(re.findall(r"<h2 id=\"category-[^\"]+\">([^<]+)</h2>", before)[-1])


async def test_the_pages_open_on_the_start_page_while_only_the_local_book_is_set_up(
    partnercrmd_client: Client,
) -> None:
    await log_in(partnercrmd_client, "configuration")
    page = await page_text(partnercrmd_client, "/ui/configuration")
    assert "<h1>Which CRM do you use?</h1>" in page
    await configure_book(partnercrmd_client.app, "carddav", url="http://127.0.0.1:9/", name="Team")
    page = await page_text(partnercrmd_client, "/ui/configuration")
    assert "Which CRM do you use?" not in page
    assert "<h1>Integrations</h1>" in page and "Team" in page


async def test_integrations_are_grouped_by_category_with_initials_badges(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, "/ui/start")
    shown = cards(page)
    assert {"local", "carddav", "ldap", "sql", *CLOUD_CRMS, "zendesk", "freshdesk", "tryton"} <= set(shown)
    headings = [html_lib.unescape(h) for h in re.findall(r'<h2 id="category-[^"]+">([^<]+)</h2>', page)]
    assert headings[: len(CATEGORIES)] == list(CATEGORIES)  # in the categories' order
    assert headings[len(CATEGORIES) :] in ([], ["Other"])  # an add-in neither places nor the core knows: last
    for integration_id in shown:
        expected = KNOWN_INTEGRATIONS.get(integration_id, ("Other",))[0]
        assert category_of(page, integration_id) == expected, integration_id
    assert category_of(page, "zendesk") == "Help desk" and category_of(page, "tryton") == "Accounting"
    assert category_of(page, "salesforce") == "CRM" and category_of(page, "local") == "Desktop"
    # The badge: initials and a colour class derived from the name, never an image of the vendor's.
    salesforce = page[page.index('data-integration="salesforce"') :].split("</li>")[0]
    assert f'<span class="badge {badge_colour("Salesforce")}" aria-hidden="true">Sa</span>' in salesforce
    assert "<img" not in page.split("<main>")[1]
    # Each card leads straight to its integration's add form.
    assert 'href="/ui/integrations/hubspot/add"' in page
    assert 'href="/ui/contacts"' in page  # the local book: its contacts, it is set up already


def test_badge_initials_and_colours_are_stable() -> None:
    assert badge_initials("Zoho CRM") == "ZC"
    assert badge_initials("HubSpot") == "HS"
    assert badge_initials("Pipedrive") == "Pi"
    assert badge_initials("Dynamics 365") == "D3"
    assert badge_initials("  ") == "?"
    assert badge_colour("HubSpot") == badge_colour("hubspot ")
    assert len({badge_colour(name) for name in ("Salesforce", "HubSpot", "Zoho CRM", "Pipedrive", "Zendesk")}) > 1


@pytest.mark.parametrize(
    ("query", "integration_id"),
    [
        ("Salesforce", "salesforce"),
        ("sfdc", "salesforce"),  # an alias
        ("active directory", "active-directory"),
        ("openldap", "ldap"),
        ("nextcloud", "carddav-nextcloud"),  # the CardDAV add-in's Nextcloud preset
        ("radicale", "carddav"),
        ("Microsoft Dynamics", "dynamics365"),
        ("freshworks", "freshdesk"),
    ],
)
async def test_a_search_with_one_match_leads_straight_to_its_add_form(
    partnercrmd_client: Client, query: str, integration_id: str
) -> None:
    await log_in(partnercrmd_client)
    response = await partnercrmd_client.get("/ui/start", params={"q": query}, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == f"/ui/integrations/{integration_id}/add"
    form = await page_text(partnercrmd_client, response.headers["Location"])
    assert 'action="/ui/integrations/' + integration_id + '/add"' in form


async def test_a_category_search_lists_that_category_only(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, "/ui/start?q=help+desk")
    shown = cards(page)
    assert {"zendesk", "freshdesk"} <= set(shown)
    assert all(category_of(page, integration_id) == "Help desk" for integration_id in shown)
    assert f"{len(shown)} integrations match" in html_lib.unescape(page)
    nothing = await page_text(partnercrmd_client, "/ui/start?q=no+such+system")
    assert cards(nothing) == []
    assert '<p id="start-none">No integration matches' in nothing
    assert 'href="/ui/requests/new"' in nothing  # not listed: ask for it


async def test_only_what_the_partner_ships_is_offered(partnercrmd_client: Client, tmp_path: Path) -> None:
    branding_file = write_branding(tmp_path, shipped=["local", "carddav", "hubspot"])
    partnercrmd_client.app[appkeys.CONFIG].branding = load_branding_file(branding_file)
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, "/ui/start")
    assert sorted(cards(page)) == ["carddav", "hubspot", "local"]
    response = await partnercrmd_client.get("/ui/start", params={"q": "salesforce"}, allow_redirects=False)
    assert response.status == 200 and cards(await response.text()) == []


async def test_google_users_are_led_to_google_contacts(partnercrmd_client: Client) -> None:
    """Google's CardDAV needs OAuth, which the CardDAV add-in cannot do: a search for Google lists the templates
    add-in's Google Contacts (Sign in with Google) in Directory, and the CardDAV entry's form points to it."""
    await log_in(partnercrmd_client)
    for query in ("google", "gmail", "google contacts"):
        page = await page_text(partnercrmd_client, f"/ui/start?q={query}&all=1")
        assert "google-contacts" in cards(page), query
        assert category_of(page, "google-contacts") == "Directory"
    response = await partnercrmd_client.get("/ui/start", params={"q": "people api"}, allow_redirects=False)
    assert response.headers["Location"] == "/ui/integrations/google-contacts/add"
    form = html_lib.unescape(await page_text(partnercrmd_client, "/ui/integrations/carddav-google/add"))
    assert "Use the Google Contacts integration instead (Sign in with Google" in form
