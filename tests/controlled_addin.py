"""A test add-in with one Controlled integration ("VIP CRM"), hidden until a partner's unlock code names it.

Loaded in-process through `partnercrmd_addins`, and by a real daemon through an
entry point (a `.dist-info` on PYTHONPATH naming this module).
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd import hookimpl
from partnercrmd.integration import (
    BlockingConnector,
    BookContext,
    Capability,
    Classification,
    ConfigField,
    FieldKind,
    Integration,
    ReleaseNote,
)
from partnercrmd.model import CheckResult, Contact, Phone, SearchQuery

INTEGRATION_ID = "vipcrm"
NAME = "VIP CRM"
PEOPLE = (Contact(id="v1", display_name="Vera Important", phones=[Phone("+44 20 7946 0111")]),)


class VipBook(BlockingConnector):
    def __init__(self, context: BookContext) -> None:
        self.token = str(context.settings.get("api_token", ""))

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        text = query.text.lower()
        return [c for c in PEOPLE if text and text in c.display_name.lower()]

    def test(self) -> Sequence[CheckResult]:
        if self.token != "right-token":
            return [CheckResult("authenticate", False, "The API token was refused.", "invalid_auth")]
        return [CheckResult("authenticate", True, "Signed in.")]


VIP = Integration(
    id=INTEGRATION_ID,
    name=NAME,
    version="2.1",
    open=VipBook,
    capabilities=frozenset({Capability.SEARCH_NAME, Capability.SEARCH_NUMBER}),
    description="A CRM offered to selected customers only.",
    config=(ConfigField("api_token", "API token", FieldKind.SECRET, required=True),),
    classification=Classification.CONTROLLED,
    release_notes=(ReleaseNote("2.1", "2026-11-01", "Faster searches."),),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    return [VIP]
