"""Which vendor API description (../shared/data/openapi, see its MANIFEST.md) each cloud template is held to."""

from __future__ import annotations

from typing import Any

from vendor_contract import VendorContract, load_description

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
    # ServiceNow's token endpoint (/oauth_token.do, the client-credentials page cited in crm_servicenow.py) is not
    # in its CSM description.
    "servicenow": (("servicenow/openapi.yaml",), ("/oauth_token.do",)),
    "intercom": (("intercom/api.intercom.io.yaml",), ()),
    "capsule": (("capsule-crm/openapi.yml",), ()),
    "twenty": (("twenty/twenty_core.oas.json",), ()),
    # Clio's OAuth server (/oauth/authorize, /oauth/token: the authorization page cited in crm_clio.py) is beside
    # its API, not in the description.
    "clio": (("clio/clio.json",), ("/oauth/",)),
}


_CORRECTED: set[str] = set()


CORRECTIONS: dict[str, tuple[tuple[str, tuple[str, ...], Any, str], ...]] = {
    # template id: (file, where in it, the value there instead, why): a declaration the description contradicts
    # itself on, set as the rest of the description (and the vendor's documentation) has it.
    "intercom": (
        (
            "intercom/api.intercom.io.yaml",
            ("paths", "/contacts/{contact_id}/notes", "post", "parameters", "1", "schema"),
            {"type": "string"},
            "createNote declares contact_id an integer, yet its own examples send 6762f0ad1bb69f9f2193bb62, every "
            "other /contacts/{contact_id} route declares a string, and the contact schema's id is a string",
        ),
    ),
}


def _apply_corrections(template_id: str) -> None:
    """Set each correction of the template in its (cached, once-parsed) description, once, before it is compiled."""
    if template_id in _CORRECTED:
        return
    _CORRECTED.add(template_id)
    for relative, where, value, _why in CORRECTIONS.get(template_id, ()):
        node: Any = load_description(relative)
        for key in where[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        assert isinstance(node, dict) and where[-1] in node, f"{relative}: nothing at {'/'.join(where)} to correct"
        node[where[-1]] = value


def vendor_contract_of(template_id: str) -> VendorContract | None:
    """A fresh contract checker for the template, or None when its vendor publishes no description here."""
    if template_id not in CONTRACTS:
        return None
    _apply_corrections(template_id)
    files, outside = CONTRACTS[template_id]
    return VendorContract.of(template_id, files, outside, KNOWN_GAPS.get(template_id))
