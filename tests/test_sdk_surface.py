"""`partnercrmd.sdk` is the one surface add-ins import: every name it publishes exists and is documented, and no
file under plugins/ (sources, tests, scripts) imports any other part of partnercrmd than the SDK and
`partnercrmd.testing`, counting imports inside functions and under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import partnercrmd.sdk
from tests.python_source import parse_source

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"
ALLOWED = ("partnercrmd.sdk", "partnercrmd.testing")
"""What an add-in may import from partnercrmd (each with its submodules)."""
SKIPPED_PARTS = {"__pycache__", "build", "dist", ".eggs"}


def allowed(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in ALLOWED)


def core_imports(source: str) -> list[tuple[int, str]]:
    """(line, what) of every import of a partnercrmd module other than the SDK and testing, wherever it stands.

    `ast.walk` visits every node, so imports inside functions, classes and `if TYPE_CHECKING:` blocks count.
    `from partnercrmd import sdk` is allowed; `from partnercrmd import hookimpl` is not (it reaches the core).
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(parse_source(source)):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {alias.name}")
                for alias in node.names
                if alias.name.split(".")[0] == "partnercrmd" and not allowed(alias.name)
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module == "partnercrmd":
                found += [
                    (node.lineno, f"from partnercrmd import {alias.name}")
                    for alias in node.names
                    if not allowed(f"partnercrmd.{alias.name}")
                ]
            elif node.module.split(".")[0] == "partnercrmd" and not allowed(node.module):
                found.append((node.lineno, f"from {node.module} import …"))
    return sorted(found)


def plugin_python_files() -> list[Path]:
    files = [p for p in PLUGINS.rglob("*.py") if not SKIPPED_PARTS & set(p.relative_to(PLUGINS).parts)]
    files = [p for p in files if not any(part.endswith(".egg-info") for part in p.parts)]
    return sorted(files)


def sdk_modules() -> list[ModuleType]:
    """`partnercrmd.sdk` and each of its submodules."""
    names = [info.name for info in pkgutil.walk_packages(partnercrmd.sdk.__path__, "partnercrmd.sdk.")]
    return [partnercrmd.sdk, *(importlib.import_module(name) for name in sorted(names))]


def test_no_plugin_file_imports_a_core_module_other_than_the_sdk_and_testing() -> None:
    files = plugin_python_files()
    assert len(files) > 20, "the plugins/ folder was not found"
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in files
        for line, what in core_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "add-ins import only partnercrmd.sdk and partnercrmd.testing:\n" + "\n".join(offenders)


def test_the_import_check_sees_imports_in_functions_and_type_checking_blocks() -> None:
    source = """
from typing import TYPE_CHECKING
from partnercrmd.sdk import Contact
from partnercrmd.sdk.vcard import fold
from partnercrmd import sdk, testing
import partnercrmd.testing
if TYPE_CHECKING:
    from partnercrmd.books import BookManager
def later():
    from partnercrmd import cli, sdk
    import partnercrmd.phone_index as index
class Book:
    def open(self):
        from partnercrmd.integration import Connector
from partnercrmd import hookimpl
import partnercrmd
"""
    assert core_imports(source) == [
        (8, "from partnercrmd.books import …"),
        (10, "from partnercrmd import cli"),
        (11, "import partnercrmd.phone_index"),
        (14, "from partnercrmd.integration import …"),
        (15, "from partnercrmd import hookimpl"),
        (16, "import partnercrmd"),
    ]


def test_every_name_the_sdk_publishes_exists_once() -> None:
    for module in sdk_modules():
        published = list(module.__all__)
        assert len(published) == len(set(published)), f"{module.__name__}.__all__ names something twice"
        missing = [name for name in published if not hasattr(module, name)]
        assert missing == [], f"{module.__name__}.__all__ names what it does not have: {missing}"


def test_the_sdk_publishes_the_contract_types_and_a_version() -> None:
    from partnercrmd.sdk import SDK_VERSION

    assert isinstance(SDK_VERSION, tuple) and len(SDK_VERSION) == 2 and all(isinstance(n, int) for n in SDK_VERSION)
    for name in ("Integration", "Connector", "BlockingConnector", "BookContext", "Contact", "AddinError", "hookimpl"):
        assert name in partnercrmd.sdk.__all__


def test_every_name_the_sdk_publishes_is_documented_in_the_add_in_guide() -> None:
    guide = (ROOT / "docs" / "addins.md").read_text(encoding="utf-8")
    undocumented = [
        f"{module.__name__}.{name}"
        for module in sdk_modules()
        for name in module.__all__
        if not re.search(rf"`[^`\n]*\b{re.escape(name)}\b[^`\n]*`", guide)
    ]
    assert undocumented == [], "docs/addins.md does not mention: " + ", ".join(undocumented)
