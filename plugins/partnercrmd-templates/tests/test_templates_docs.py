"""docs/templates.md's "Catalogue at a glance" is the catalogue as it is, and a template held to no vendor
contract names the pages it follows (issue #16 acceptance).

Each template of the shipped catalogue has its row; "what it can do" is its operations in words; "how it is
tested" says "vendor contract" with the description files exactly when tests/vendor_contracts.py holds it to
one, and otherwise names how it is tested instead (its documentation, a CSDL, or a real server). A template tested
against documentation only has a reproduction (tests/crm_*.py) whose docstring names every page of the
template's `documentation:` (by address or page name).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import yaml
from vendor_contracts import CONTRACTS

PLUGIN = Path(__file__).resolve().parents[1]
CATALOGUE = PLUGIN / "partnercrmd_templates" / "catalogue"
DOC = PLUGIN.parents[1] / "docs" / "templates.md"
ABILITIES = [
    ("lookup", "find by number"),
    ("search", "search by name"),
    ("pop", "open"),
    ("log_call", "log calls"),
    ("create_contact", "create contacts"),
    ("update_contact", "update contacts"),
    ("activities", "call history"),
    ("call_event", "live call events"),
]


def catalogue() -> dict[str, dict[str, Any]]:
    templates = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(CATALOGUE.glob("*.yaml"))]
    return {t["id"]: t for t in templates}


def glance_rows() -> dict[str, list[str]]:
    """The table under "### Catalogue at a glance": id -> its cells."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Catalogue at a glance", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 5 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells
    return rows


def test_every_template_has_its_row_and_no_row_is_of_a_template_that_does_not_exist() -> None:
    assert sorted(glance_rows()) == sorted(catalogue())


def test_what_each_template_can_do_is_its_operations() -> None:
    rows = glance_rows()
    for template_id, template in catalogue().items():
        said = rows[template_id][2]
        assert said == ", ".join(words for op, words in ABILITIES if op in template["operations"]), template_id


def test_how_each_template_is_tested_is_the_vendor_contract_exactly_when_it_is_held_to_one() -> None:
    rows = glance_rows()
    for template_id in catalogue():
        how = rows[template_id][4]
        if template_id in CONTRACTS:
            files = re.findall(r"`([^`]+)`", how.split("vendor contract:", 1)[1]) if "vendor contract:" in how else []
            assert how.startswith("vendor contract: ") and files == list(CONTRACTS[template_id][0]), template_id
        else:
            assert "vendor contract" not in how and how, template_id


REPRODUCTIONS = {
    "dynamics365": "crm_dynamics",
    "zoho-crm": "crm_zoho",
    "google-contacts": "crm_google_contacts",
    "zendesk-sell": "crm_zendesk_sell",
    "zoho-desk": "crm_zoho_desk",
}
"""Reproduction modules not named crm_<id>."""
REAL_SERVERS = {"bottlecrm-template": "test_templates_bottlecrm.py runs it against the real BottleCRM server"}


def page_names(page: str) -> set[str]:
    """The ways a docstring names a documentation page: its address, its file name, its method name."""
    last = page.rstrip("/").split("/")[-1].split("#")[0].split("id=")[-1]
    stem = re.sub(r"\.(php|htm|html)$", "", last)
    return {page, last, stem.removeprefix("sf."), stem.replace("_", ".")}


def test_a_template_held_to_no_contract_has_a_reproduction_that_names_every_page_it_follows() -> None:
    for template_id, template in catalogue().items():
        if template_id in CONTRACTS or template_id in REAL_SERVERS:
            continue
        pages = template.get("documentation", [])
        assert pages and all(page.startswith("https://") for page in pages), template_id
        module = REPRODUCTIONS.get(template_id, f"crm_{template_id}")
        docstring = importlib.import_module(module).__doc__ or ""
        unnamed = [page for page in pages if not any(name in docstring for name in page_names(page))]
        assert not unnamed, f"{module}'s docstring does not name {unnamed}"
