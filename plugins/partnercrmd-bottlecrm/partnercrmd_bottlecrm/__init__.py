"""partnercrmd add-in: BottleCRM (the open-source `django-crm`) through its REST API.

Caller preview by number (from a local index of the book's numbers, see `number_index`) and by
name, popping the contact in BottleCRM's web app, calls logged as interactions of kind `call`,
contacts created and changed. `connector` is the address book, `client` the protocol, `mapping`
the translation between BottleCRM's records and partnercrmd's model, `settings` the book's
settings checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd import hookimpl
from partnercrmd.integration import Capability, ConfigField, FieldKind, Integration, ReleaseNote

from .connector import BottleCrmBook

__version__ = "0.1.0"

INTEGRATION_ID = "bottlecrm"

BOTTLECRM = Integration(
    id=INTEGRATION_ID,
    name="BottleCRM",
    version=__version__,
    open=BottleCrmBook,
    capabilities=frozenset(
        {
            Capability.SEARCH_NUMBER,
            Capability.SEARCH_NAME,
            Capability.POP,
            Capability.POP_EDIT,
            Capability.LOG_ACTIVITY,
            Capability.SHOW_ACTIVITIES,
            Capability.CREATE_CONTACT,
            Capability.UPDATE_CONTACT,
        }
    ),
    description="Contacts of a BottleCRM (django-crm) server; calls are logged on them as interactions.",
    config=(
        ConfigField(
            "url",
            "BottleCRM API address",
            FieldKind.URL,
            required=True,
            help="The address of BottleCRM's API server (the part before /api/), e.g. https://api.crm.example.com.",
        ),
        ConfigField(
            "token",
            "Personal access token",
            FieldKind.SECRET,
            required=True,
            help="A personal access token (bcrm_pat_…) from BottleCRM's settings. Calls and new contacts are "
            "written as its user. The organisation API key works too, for searching only.",
        ),
        ConfigField(
            "web_url_template",
            "Contact page address",
            FieldKind.TEXT,
            default="",
            help="Where a contact opens in BottleCRM's web app, with {id} for the contact, e.g. "
            "https://crm.example.com/contacts/{id}. Empty: partnercrmd's own record page.",
        ),
        ConfigField(
            "web_edit_url_template",
            "Contact edit page address",
            FieldKind.TEXT,
            default="",
            help="Where a contact opens for editing, with {id}. Empty: partnercrmd's own edit page, which saves "
            "into BottleCRM.",
        ),
        ConfigField(
            "log_calls",
            "Log calls in BottleCRM",
            FieldKind.BOOL,
            default=True,
            help="Write calls as interactions (kind call) on the contact.",
        ),
        ConfigField(
            "index_minutes",
            "Refresh the number index every (minutes)",
            FieldKind.INT,
            default=15,
            help="Number searches use a local index of the book's phone numbers, read again this often.",
        ),
        ConfigField(
            "timeout_seconds",
            "Request timeout (seconds)",
            FieldKind.INT,
            default=10,
            help="How long one request to BottleCRM may take (searches also have the phone client's deadline).",
        ),
    ),
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-bottlecrm/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-11-25",
            "First release: caller preview by number and name, open contacts in BottleCRM, log calls as "
            "interactions, create and change contacts.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `bottlecrm`."""
    return [BOTTLECRM]
