"""OData query building (issue #16.3): `odata_string(text)` makes a caller's text one OData string literal.

OData v4's URL conventions write a string literal in single quotes with each quote inside doubled
(https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html, "Primitive Literals";
ABNF `string = SQUOTE *( SQUOTE-in-string / pchar-no-SQUOTE ) SQUOTE`, `SQUOTE-in-string = SQUOTE SQUOTE`). A name
with an apostrophe (O'Neill) must still be found, and a text made to close the literal must stay a value. The
catalogue's OData templates build their `$filter`s with it; the behaviour test here runs a name with an apostrophe
through the daemon against the Dynamics 365 reproduction, which reads literals as OData does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import crm_dynamics
import pytest
from aiohttp import web
from partnercrmd_templates.expressions import Text
from partnercrmd_templates.loader import load_text
from templates_fake_crm import FakeCrm

from partnercrmd.testing import ApiSession, configure_book, remove_default_book, search

CATALOGUE_DIR = Path(__file__).resolve().parents[1] / "partnercrmd_templates" / "catalogue"
ODATA_TEMPLATES = ("dynamics365.yaml", "business-central.yaml", "microsoft365.yaml")
"""The catalogue's templates whose requests carry OData $filter literals."""


def filled(template: str, **context: Any) -> str:
    return Text.compile(template).text(context)


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("Whitfield", "'Whitfield'"),
        ("O'Brien", "'O''Brien'"),
        ("''", "''''''"),
        ("", "''"),
        (None, "''"),
        (42, "'42'"),
        ("Zoë Lefèvre", "'Zoë Lefèvre'"),
    ],
)
def test_odata_string_quotes_a_text_as_one_literal(text: Any, literal: str) -> None:
    assert filled("{{ odata_string(text) }}", text=text) == literal


def test_a_text_made_to_close_the_literal_stays_one_value() -> None:
    """`x') or true or contains(fullname,'` would add conditions if its quotes were not doubled."""
    hostile = "x') or true or contains(fullname,'"
    built = filled("contains(fullname,{{ odata_string(text) }})", text=hostile)
    assert built == "contains(fullname,'x'') or true or contains(fullname,''')"
    # Read back as OData does: every quote inside is doubled, so the literal ends only at the last one.
    inside = built[len("contains(fullname,'") : -len("')")]
    assert inside.replace("''", "").count("'") == 0
    assert inside.replace("''", "'") == hostile


def test_the_catalogues_odata_templates_quote_with_it() -> None:
    """The OData templates build their $filter literals with odata_string, not by hand."""
    for name in ODATA_TEMPLATES:
        text = (CATALOGUE_DIR / name).read_text(encoding="utf-8")
        load_text(text, name)  # still a valid template
        assert "odata_string(" in text, name
        assert """replace(text, `"'"`""" not in text, name


@pytest.fixture
async def dynamics() -> AsyncIterator[FakeCrm]:
    fake: FakeCrm = crm_dynamics.build()
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_name_with_an_apostrophe_is_found_in_dynamics(
    api: ApiSession, partnercrmd_app: web.Application, dynamics: FakeCrm
) -> None:
    await remove_default_book(partnercrmd_app)
    book = await configure_book(partnercrmd_app, "dynamics365", **crm_dynamics.settings(dynamics))
    for query in ("O'Neill", "Eamon O'Neill"):
        collection = (await search(api, query))[book]
        assert collection["ExceptionText"] == "", collection["ExceptionText"]
        assert [r["DisplayText"] for r in collection["Records"]] == ["Eamon O'Neill"], query
    # What reached Dynamics: the quote doubled inside one literal.
    sent = [path for method, path in dynamics.requests if method == "GET" and "$filter" in path]
    assert any("contains(fullname,'O''Neill')" in path for path in sent), sent
    # A text that tries to close the literal and add a condition (which would match every name with an "a").
    hostile = (await search(api, "x') or contains(fullname,'a"))[book]
    assert hostile["ExceptionText"] == "" and hostile["Records"] == []
