"""Which vendor API description (../shared/data/openapi, see its MANIFEST.md) each cloud template is held to."""

from __future__ import annotations

from vendor_contract import VendorContract

ZOHO_DOCS = "https://www.zoho.com/crm/developer/docs/api/v8/"

KNOWN_GAPS: dict[str, dict[tuple[str, int], str]] = {
    # (operation, status): the documentation page that gives an answer the vendor's description leaves out.
    "zoho-crm": {
        ("GET /crm/v8/{module_api_name}/search", 204): ZOHO_DOCS + "search-records.html (204: no record matches)",
        ("POST /crm/v8/{module_api_name}", 201): ZOHO_DOCS + "insert-records.html (201 Created)",
    },
}

CONTRACTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # template id: (description files, path prefixes outside them: the vendor's OAuth server, cited in crm_*.py)
    "hubspot": (
        ("hubspot/contacts.json", "hubspot/calls.json", "hubspot/notes.json", "hubspot/companies.json"),
        ("/oauth/",),
    ),
    # Zoho ships one description per API area; the users API (who is signed in, get-users.html) is not among them.
    "zoho-crm": (("zoho-crm/record.json", "zoho-crm/notes.json"), ("/oauth/", "/crm/v8/users")),
}


def vendor_contract_of(template_id: str) -> VendorContract | None:
    """A fresh contract checker for the template, or None when its vendor publishes no description here."""
    if template_id not in CONTRACTS:
        return None
    files, outside = CONTRACTS[template_id]
    return VendorContract.of(template_id, files, outside, KNOWN_GAPS.get(template_id))
