"""Modules are named for their job (issue #15 item 9): the renames stay done and the split modules stay apart.

`apps` → `client_apps` (the registered client applications), `service` → `autostart` (what the login session
starts), `records` → `addin_output` (checks on what add-ins return) and `api_shapes` (contacts as the API
shows them). The checks on add-in output need nothing of the API's shapes, signing or capabilities.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from tests.python_source import parse_source

PACKAGE = Path(__file__).resolve().parent.parent / "partnercrmd"


@pytest.mark.parametrize(
    ("old", "new"),
    [("apps", "client_apps"), ("service", "autostart"), ("records", "addin_output"), ("records", "api_shapes")],
)
def test_the_old_module_name_is_gone_and_the_new_one_is_there(old: str, new: str) -> None:
    assert importlib.util.find_spec(f"partnercrmd.{new}") is not None
    assert importlib.util.find_spec(f"partnercrmd.{old}") is None


def imported_modules(module: str) -> set[str]:
    """The partnercrmd modules `module` imports, relative imports resolved (function-local ones too)."""
    tree = parse_source((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("partnercrmd."):
            found.add(node.module.removeprefix("partnercrmd."))
    return found


def test_checking_add_in_output_and_shaping_api_records_are_apart() -> None:
    assert imported_modules("addin_output") == {"model"}
    assert "addin_output" not in imported_modules("api_shapes")
