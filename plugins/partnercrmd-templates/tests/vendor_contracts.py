"""Which vendor API description (../shared/data/openapi, see its MANIFEST.md) each cloud template is held to."""

from __future__ import annotations

from discovery_contract import discovery_contract
from graphql_contract import GraphQLContract
from vendor_contract import Amendment, VendorContract

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
    # Pipedrive describes persons in API v2 only and call logs in API v1.
    "pipedrive": (("pipedrive/v2.yaml", "pipedrive/v1.yaml"), ()),
    "zendesk": (("zendesk-support/openapi.yaml",), ()),
    # Freshdesk's description is thin (four paths, from Ballerina): the contact list, a contact and creating a
    # ticket are held to it; the routes it leaves out follow https://developers.freshdesk.com/api/ (contact
    # autocomplete, create a contact, add a note to a ticket), as crm_freshdesk.py cites them.
    "freshdesk": (
        ("freshdesk/openapi.yaml",),
        ("GET /api/v2/contacts/autocomplete", "POST /api/v2/contacts", "POST /api/v2/tickets/"),
    ),
    # ServiceNow's token endpoint (/oauth_token.do, the client-credentials page cited in crm_servicenow.py) is not
    # in its CSM description.
    "servicenow": (("servicenow/openapi.yaml",), ("/oauth_token.do",)),
    # SuiteCRM's token endpoint is beside its V8 API (Api/access_token), not in the description's paths.
    "suitecrm": (("suitecrm/swagger.json",), ("/legacy/Api/access_token",)),
    # Halo's authorisation server (/auth/token) is beside its API (/api), not in the description's paths.
    "halopsa": (("halopsa/swagger.json",), ("/auth/",)),
    "activecampaign": (("activecampaign/openapi.yaml",), ()),
    "intercom": (("intercom/api.intercom.io.yaml",), ()),
    "capsule": (("capsule-crm/openapi.yml",), ()),
    "twenty": (("twenty/twenty_core.oas.json",), ()),
    # Clio's OAuth server (/oauth/authorize, /oauth/token: the authorization page cited in crm_clio.py) is beside
    # its API, not in the description.
    "clio": (("clio/clio.json",), ("/oauth/",)),
    "brevo": (("brevo/swagger_definition_v3.yml",), ()),
    "klaviyo": (("klaviyo/profiles.json", "klaviyo/events.json"), ()),
    # Outreach's OAuth server (/oauth/authorize, /oauth/token: https://developers.outreach.io/api/oauth/) is beside
    # its API, not in the description.
    "outreach": (("outreach/outreach.oas.json",), ("/oauth/",)),
    # Teamleader's description is a lossy conversion of its pages (tier C): contacts.list and contacts.info appear as
    # GETs without bodies, notes.create not at all; those follow the pages cited in crm_teamleader.py, as does its
    # OAuth server (/oauth2/). contacts.add is held to the description.
    "teamleader": (
        ("teamleader/teamleader.json",),
        ("POST /contacts.list", "POST /contacts.info", "POST /notes.create", "/oauth2/"),
    ),
    "front": (("front/core-api.json",), ()),
}


PIPEDRIVE_SQL_TIME = {"format": None, "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"}
"""Pipedrive's call log times: its description says `format: date-time` (RFC 3339) and, in the same field's text,
"Format: YYYY-MM-DD HH:MM:SS", as https://developers.pipedrive.com/docs/api/v1/CallLogs#addCallLog does."""
PIPEDRIVE_CALL_LOG = "/paths/~1callLogs/post"

AMENDMENTS: dict[str, tuple[Amendment, ...]] = {
    # template id: what the vendor documents that its description says otherwise, each with where it says so.
    "pipedrive": (
        Amendment(
            "pipedrive/v2.yaml",
            "/paths/~1persons~1search/get/responses/200/content/application~1json/schema/properties/additional_data"
            "/properties/next_cursor",
            {"nullable": True},
            "the field's own description: 'The value of the `next_cursor` field will be `null` if you have reached "
            "the end of the dataset' (https://developers.pipedrive.com/docs/api/v1/Persons#searchPersons)",
        ),
        *(
            Amendment(
                "pipedrive/v1.yaml",
                f"{PIPEDRIVE_CALL_LOG}/{where}/properties/{key}",
                PIPEDRIVE_SQL_TIME,
                "https://developers.pipedrive.com/docs/api/v1/CallLogs#addCallLog: 'Format: YYYY-MM-DD HH:MM:SS'",
            )
            for where in (
                "requestBody/content/application~1json/schema",
                "responses/200/content/application~1json/schema/properties/data",
            )
            for key in ("start_time", "end_time")
        ),
    ),
}

ZENDESK_DOCS = "https://developer.zendesk.com/api-reference/"
ZENDESK_OFFSET_PAGES = ZENDESK_DOCS + "introduction/pagination/#using-offset-pagination"
AMENDMENTS["zendesk"] = (
    Amendment(
        "zendesk-support/openapi.yaml",
        "/components/schemas/UsersResponse/properties",
        {
            # The description's own OffsetPaginationObject, which its Search Users text points to ("Offset
            # pagination only. See Using Offset Pagination") but its UsersResponse leaves out.
            "count": {"$ref": "#/components/schemas/OffsetPaginationObject/properties/count"},
            "next_page": {"$ref": "#/components/schemas/OffsetPaginationObject/properties/next_page"},
            "previous_page": {"$ref": "#/components/schemas/OffsetPaginationObject/properties/previous_page"},
        },
        ZENDESK_OFFSET_PAGES + " (next_page, previous_page, count in every offset-paginated answer)",
    ),
    Amendment(
        "zendesk-support/openapi.yaml",
        # The request's `ticket` (allOf [TicketCreateVoicemailTicketInput], read as one object by the harness).
        "/components/schemas/TicketCreateVoicemailTicketRequest/properties/ticket/properties",
        {
            # "Creating tickets using Talk Partner Edition follows the same conventions as the Create Ticket
            # endpoint" (the operation's own description): the ticket's requester, subject and status as there.
            key: {"$ref": f"#/components/schemas/TicketUpdateInput/properties/{key}"}
            for key in ("requester_id", "subject", "status")
        },
        ZENDESK_DOCS + "voice/talk-partner-edition-api/reference/#create-ticket-or-voicemail-ticket",
    ),
)

FRESHDESK_DOCS = "https://developers.freshdesk.com/api/"
KNOWN_GAPS["freshdesk"] = {("POST /api/v2/tickets", 201): FRESHDESK_DOCS + "#create_ticket (201 Created)"}
AMENDMENTS["freshdesk"] = (
    Amendment(
        "freshdesk/openapi.yaml",
        "/components/schemas/TicketPayload/properties",
        {
            "requester_id": {"type": "integer"},
            "source": {"type": "integer", "enum": [1, 2, 3, 7, 9, 10]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        FRESHDESK_DOCS + "#create_ticket (requester_id, source: 1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback "
        "Widget, 10 Outbound Email; tags)",
    ),
)

ALIASES: dict[str, tuple[tuple[str, str], ...]] = {
    # template id: (prefix the template sends, the description's prefix): the vendor's per-company address.
    # Pipedrive's descriptions name https://api.pipedrive.com/v1 and .../api/v2; v1 routes are served under both
    # /v1/... and /api/v1/... ("Only /api/v2/... prefix is supported. Previously both /api/v1/... and /v1/... could
    # be used": https://pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide), on the company's own address.
    "pipedrive": (("/api/v1/", "/v1/"),),
    # SuiteCRM's description was written on a developer's copy (http://localhost/forkedSuite/Api/V8); SuiteCRM 8
    # serves the same V8 API under /legacy/Api/V8 (https://docs.suitecrm.com/8.x/developer/api/).
    "suitecrm": (("/legacy/Api/V8/", "/forkedSuite/Api/V8/"),),
}

DOCUMENTED_QUERY: dict[str, dict[str, dict[str, str]]] = {
    # template id: {operation: {query parameter: the documentation page that gives it}}, for parameters the
    # vendor documents on that route but its description leaves out.
    # Outreach's description declares no query parameters; its filtering and paging are on its Making Requests page.
    "outreach": {
        "GET /api/v2/phoneNumbers": {
            key: "https://developers.outreach.io/api/making-requests/ (filter[attribute], page[size])"
            for key in ("filter[number]", "page[size]")
        },
    },
    "freshdesk": {
        "GET /api/v2/contacts": {key: FRESHDESK_DOCS + "#list_all_contacts (filters)" for key in ("phone", "mobile")},
    },
    "zendesk": {
        # The next_page URL Zendesk answers carries the page number (the template follows it as given).
        "GET /api/v2/users/search": {"page": ZENDESK_OFFSET_PAGES},
    },
    # SuiteCRM declares filter[name][eq] as its example of filter[<the bean's property>][<operator>] ("The [name] is
    # the bean's property, the [eq] is a comparison operator"); the template filters on these properties.
    "suitecrm": {
        "GET /forkedSuite/Api/V8/module/{module}": {
            f"filter[{field}][eq]": "https://docs.suitecrm.com/developer/api/developer-setup-guide/json-api/ (Filter)"
            for field in ("phone_work", "phone_mobile", "first_name", "last_name")
        },
    },
}


INTERCOM_NOTES = "/paths/~1contacts~1{contact_id}~1notes/post/parameters/1/schema"
AMENDMENTS["intercom"] = (
    Amendment(
        "intercom/api.intercom.io.yaml",
        INTERCOM_NOTES,
        {"type": "string"},
        "the description itself: createNote declares contact_id an integer, yet its own examples send "
        "6762f0ad1bb69f9f2193bb62, every other /contacts/{contact_id} route declares a string, and the contact "
        "schema's id is a string (https://developers.intercom.com/docs/references/2.14/rest-api/api.intercom.io/"
        "notes/createnote)",
    ),
)

AMENDMENTS["activecampaign"] = (
    Amendment(
        "activecampaign/openapi.yaml",
        "/components/schemas/Contact/properties/phone",
        {"type": "string"},
        "https://developers.activecampaign.com/reference/create-a-new-contact (contact.phone: string; the "
        "description's own ContactRead has phone a string, and numbers are written with + and spaces)",
    ),
)


AMENDMENTS["brevo"] = (
    Amendment(
        "brevo/swagger_definition_v3.yml",
        "/components/schemas/getContactDetails/properties/attributes",
        {"additionalProperties": True},
        "the description itself: attributes is the 'Set of attributes of the contact', each account's own (its "
        "examples answer FIRST_NAME, LAST_NAME, SMS, CITY...), declared with no properties; createContact says "
        "'These attributes must be present in your Brevo account' (https://developers.brevo.com/reference/"
        "createcontact)",
    ),
)

FRONT_REQUIRED_UNDECLARED = (
    "the description itself: its schema lists the key in `required` but declares no such property, which no answer "
    "could then satisfy; typed as Front's reference shows it"
)
AMENDMENTS["front"] = (
    Amendment(
        "front/core-api.json",
        "/components/schemas/TeammateResponse/properties",
        {"license_type": {"type": "string"}},
        FRONT_REQUIRED_UNDECLARED + " (https://dev.frontapp.com/reference/get-teammate: license_type, a string)",
    ),
    Amendment(
        "front/core-api.json",
        "/components/schemas/ContactNoteResponses/properties",
        {"is_private": {"type": "boolean"}},
        FRONT_REQUIRED_UNDECLARED + " (https://dev.frontapp.com/reference/add-contact-note: is_private, a boolean)",
    ),
)


INTUIT_DOCS = "https://developer.intuit.com/app/developer/qbo/docs/"
# QuickBooks Online: the description names https://quickbooks.api.intuit.com/v3/company/{companyid} with the company
# (realm) id at its placeholder default; the reproduction's company is crm_quickbooks.REALM. Intuit's OAuth server
# (appcenter.intuit.com/connect/oauth2, oauth.platform.intuit.com/oauth2/v1/tokens/bearer: the OAuth 2.0 page cited in
# the template) is not in the description.
CONTRACTS["quickbooks-online"] = (("quickbooks-online/quickbooks.json",), ("/oauth2/", "/connect/"))
ALIASES["quickbooks-online"] = (("/v3/company/9130357992221046/", "/v3/company/DefaultParameterValue/"),)
AMENDMENTS["quickbooks-online"] = (
    Amendment(
        "quickbooks-online/quickbooks.json",
        "/components/schemas/Customer-Create-Request",
        {
            # The converted collection made every key of its one example required (a billing address, notes...);
            # Intuit requires only "DisplayName or at least one of Title, GivenName, MiddleName, FamilyName, Suffix".
            "required": None,
            "properties": {
                "DisplayName": {"type": "string", "maxLength": 500},
                "GivenName": {"type": "string", "maxLength": 100},
                "FamilyName": {"type": "string", "maxLength": 100},
                "CompanyName": {"type": "string", "maxLength": 100},
                "Notes": {"type": "string", "maxLength": 2000},
                "PrimaryPhone": {"$ref": "#/components/schemas/PrimaryPhone"},
                "PrimaryEmailAddr": {"$ref": "#/components/schemas/PrimaryEmailAddr"},
                "BillAddr": {"$ref": "#/components/schemas/BillAddr1"},
            },
        },
        INTUIT_DOCS + "api/accounting/all-entities/customer (Create a customer: DisplayName or a name element "
        "required; GivenName, FamilyName, CompanyName, Notes, PrimaryPhone, PrimaryEmailAddr)",
    ),
)


# Jira Service Management: Atlassian's description (no server: its paths are the site's own, /rest/servicedeskapi/...).
CONTRACTS["jira-service-management"] = (("jira-service-management/openapi.json",), ())


MS_BC_DOCS = "https://learn.microsoft.com/dynamics365/business-central/dev-itpro/"
# Business Central: the description's first server is https://api.businesscentral.dynamics.com/v2.0/sandbox/api/v1.0;
# a tenant's own address names the tenant and the environment (/v2.0/<tenant>/<environment>/api/v1.0: the endpoints
# page cited in the template), here the reproduction's. The identity platform (/<tenant>/oauth2/v2.0/) is not in it.
CONTRACTS["business-central"] = (
    ("dynamics365-business-central/openapi.yaml",),
    ("/northwind.onmicrosoft.com/oauth2/",),
)
ALIASES["business-central"] = (("/v2.0/northwind.onmicrosoft.com/production/api/v1.0/", "/v2.0/sandbox/api/v1.0/"),)
ODATA_ANNOTATIONS = (
    "OData JSON Format v4.01 §4.5 (https://docs.oasis-open.org/odata/odata-json-format/v4.01/odata-json-format-v4.01.html"
    "#sec_ControlInformation): every answer carries its context URL (@odata.context) and each entity its ETag "
    "(@odata.etag), as the examples of " + MS_BC_DOCS + "api-reference/v1.0/api/dynamics_customer_get show"
)
AMENDMENTS["business-central"] = (
    Amendment(
        "dynamics365-business-central/openapi.yaml",
        "/paths/~1companies({company_id})~1customers/get/responses/200/content/application~1json/schema/properties",
        {"@odata.context": {"type": "string"}},
        ODATA_ANNOTATIONS,
    ),
    Amendment(
        "dynamics365-business-central/openapi.yaml",
        "/components/schemas/customer/properties",
        {"@odata.context": {"type": "string"}, "@odata.etag": {"type": "string"}},
        ODATA_ANNOTATIONS,
    ),
)


PIPELINER_DOCS = "https://developers.pipelinersales.com/"
PIPELINER_ENTITIES = "/paths/~1api~1v100~1rest~1spaces~1{space_id}~1entities~1"
# Pipeliner: its certified Power Platform connector's description (Swagger 2.0, converted to OpenAPI 3 in memory by
# swagger2_openapi.py), served at the account's service URL (the description's host is one of them).
CONTRACTS["pipeliner"] = (("pipeliner-crm/apiDefinition.swagger.json",), ())
AMENDMENTS["pipeliner"] = tuple(
    Amendment(
        "pipeliner-crm/apiDefinition.swagger.json",
        f"{PIPELINER_ENTITIES}{route}/parameters/0",
        {"required": False},
        "the connector's own `service_url` header (its first parameter, 'Your Service URL starting with https://'): "
        "Power Platform's routing to the account's host, which Pipeliner's API does not take; the API is reached at "
        "that service URL (" + PIPELINER_DOCS + "api-tutorials/search-a-record/: 'the Service URL and Space ID')",
    )
    for route in ("Contacts/get", "Contacts/post", "Contacts~1{id}/get", "Tasks/post")
)
DOCUMENTED_QUERY["pipeliner"] = {
    "GET /api/v100/rest/spaces/{space_id}/entities/Contacts": {
        key: PIPELINER_DOCS + "api-docs/core-api-concepts/api-parameters (filter, filter-op on *.List)"
        for field in ("phone1", "phone2")
        for key in (f"filter[{field}]", f"filter-op[{field}]")
    },
}


GRAPHQL_CONTRACTS: dict[str, tuple[str, str]] = {
    # template id: (the vendor's GraphQL schema under ../shared/data/openapi, the endpoint path requests go to)
    "monday": ("monday/schema.graphql", "/v2"),
}


DISCOVERY_CONTRACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    # template id: (the vendor's Google discovery document under ../shared/data/openapi, routes outside it: Google's
    # OAuth server, https://developers.google.com/identity/protocols/oauth2/native-app, cited in crm_google_contacts.py)
    "google-contacts": ("google-people/people-api.json", ("/token", "/o/oauth2/")),
}


def discovery_contract_of(template_id: str) -> VendorContract | None:
    """A fresh checker of the template's traffic against its vendor's Google discovery document (converted to
    OpenAPI by discovery_contract.py), or None when its vendor's API is not described so here."""
    if template_id not in DISCOVERY_CONTRACTS:
        return None
    document, outside = DISCOVERY_CONTRACTS[template_id]
    return discovery_contract(template_id, document, outside)


def graphql_contract_of(template_id: str) -> GraphQLContract | None:
    """A fresh GraphQL contract checker for the template, or None when its vendor's API is not GraphQL here."""
    if template_id not in GRAPHQL_CONTRACTS:
        return None
    schema, endpoint = GRAPHQL_CONTRACTS[template_id]
    return GraphQLContract(template_id, schema, endpoint)


def vendor_contract_of(template_id: str) -> VendorContract | None:
    """A fresh contract checker for the template, or None when its vendor publishes no description here."""
    if template_id not in CONTRACTS:
        return None
    files, outside = CONTRACTS[template_id]
    return VendorContract.of(
        template_id,
        files,
        outside,
        KNOWN_GAPS.get(template_id),
        aliases=ALIASES.get(template_id, ()),
        documented_query=DOCUMENTED_QUERY.get(template_id),
        amendments=AMENDMENTS.get(template_id, ()),
    )
