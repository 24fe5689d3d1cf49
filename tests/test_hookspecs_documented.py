"""The add-in contract is documented: every hook and every connector method appears in docs/addins.md."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from partnercrmd import hookspecs
from partnercrmd.integration import BlockingConnector, Connector, ThreadedConnector

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "addins.md"


def hook_specs() -> dict[str, Callable[..., Any]]:
    """The functions of partnercrmd.hookspecs that carry the hookspec marker."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, marker)}


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def headings(guide: str) -> list[str]:
    """The Markdown headings of the guide (a `# comment` inside a code block is not one)."""
    found: list[str] = []
    in_code = False
    for line in guide.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            found.append(line)
    return found


def test_there_are_hookspecs_to_check() -> None:
    assert "partnercrmd_integrations" in hook_specs()


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_every_hookspec_has_a_docstring(name: str) -> None:
    doc = inspect.getdoc(hook_specs()[name])
    assert doc, f"hookspec {name} has no docstring: say what it returns and when it is called"


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_every_hookspec_has_a_section_in_the_authors_guide(name: str, guide: str) -> None:
    assert any(re.search(rf"\b{name}\b", line) for line in headings(guide)), (
        f"docs/addins.md has no heading naming the hook {name}"
    )


def test_the_guide_documents_no_hook_that_does_not_exist(guide: str) -> None:
    documented = {m for line in headings(guide) for m in re.findall(r"\bpartnercrmd_[a-z_]+\b", line)}
    assert documented <= set(hook_specs()), f"docs/addins.md documents unknown hooks: {documented - set(hook_specs())}"


@pytest.mark.parametrize("method", sorted(public_methods(Connector)))
def test_every_connector_method_is_documented(method: str, guide: str) -> None:
    assert f"`{method}(" in guide, f"docs/addins.md does not document Connector.{method}()"


def test_blocking_connectors_offer_the_same_methods_and_every_one_runs_in_a_thread() -> None:
    methods = public_methods(Connector)
    assert public_methods(BlockingConnector) == methods
    not_wrapped = {m for m in methods if getattr(ThreadedConnector, m) is getattr(Connector, m)}
    assert not not_wrapped, f"ThreadedConnector does not pass these to the blocking connector: {not_wrapped}"
