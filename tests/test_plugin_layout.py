"""Every add-in under plugins/ has one layout, so a name means the same in each (docs/addins.md, "One layout").

`__init__` holds the hook and the `Integration`, `settings` the schema (`ConfigField`s) and their checks,
`client` the talking to the server, `connector` the `Connector`, `index` the local index where there is one,
`checks` Test connection (without importing the connector: it is given what it uses); the README has the
same sections in the same order.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.python_source import parse_source

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"
REQUIRED_MODULES = ("__init__", "settings", "client", "connector", "checks")
INDEX_MODULE = "index"
"""Required where the add-in keeps a local index (it uses the SDK's `PhoneIndex` or `RefreshedPhoneIndex`)."""
INDEX_NAMES = {"PhoneIndex", "RefreshedPhoneIndex"}
OTHER_NAMES = {"addin": "connector", "schema": "settings", "number_index": "index"}
"""Names add-ins used for a standard module before there was one layout: each must be the standard name."""
README_SECTIONS = ("Install", "Settings", "How it works", "Test connection", "Limits", "Release notes", "Development")
CONNECTOR_BASES = {"Connector", "BlockingConnector"}


@dataclass(frozen=True)
class Plugin:
    distribution: Path
    package: Path

    @property
    def name(self) -> str:
        return self.distribution.name

    def modules(self) -> dict[str, ast.Module]:
        """Every module directly in the package, by name, parsed."""
        return {p.stem: parse_source(p.read_text(encoding="utf-8")) for p in sorted(self.package.glob("*.py"))}


def plugins() -> list[Plugin]:
    found = []
    for distribution in sorted(p for p in PLUGINS.iterdir() if (p / "setup.cfg").is_file()):
        [package] = [p for p in distribution.glob("partnercrmd_*") if (p / "__init__.py").is_file()]
        found.append(Plugin(distribution, package))
    return found


PLUGIN_LIST = plugins()


def calls_to(tree: ast.AST, name: str) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    )


def connector_classes(tree: ast.AST) -> list[str]:
    """Classes that derive from the SDK's Connector or BlockingConnector (by the base's name)."""
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(
            (isinstance(base, ast.Name) and base.id in CONNECTOR_BASES)
            or (isinstance(base, ast.Attribute) and base.attr in CONNECTOR_BASES)
            for base in node.bases
        )
    ]


def relative_imports(tree: ast.AST) -> set[str]:
    """The package's own modules a module imports, anywhere in it (functions and TYPE_CHECKING blocks too)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return names


def imported_names(tree: ast.AST) -> set[str]:
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_every_plugin_is_checked() -> None:
    assert {p.name for p in PLUGIN_LIST} >= {
        "partnercrmd-bottlecrm",
        "partnercrmd-carddav",
        "partnercrmd-json-directory",
        "partnercrmd-ldap",
        "partnercrmd-sql",
        "partnercrmd-templates",
        "partnercrmd-tryton",
    }


@pytest.mark.parametrize("plugin", PLUGIN_LIST, ids=lambda p: p.name)
def test_the_standard_modules_are_there_under_their_standard_names(plugin: Plugin) -> None:
    modules = plugin.modules()
    missing = [name for name in REQUIRED_MODULES if name not in modules]
    assert missing == [], f"{plugin.name} has no {', '.join(m + '.py' for m in missing)}"
    renamed = {f"{old}.py": f"{new}.py" for old, new in OTHER_NAMES.items() if old in modules}
    assert renamed == {}, f"{plugin.name}: rename (old: new) {renamed}"
    keeps_an_index = any(INDEX_NAMES & imported_names(tree) for tree in modules.values())
    if keeps_an_index:
        assert INDEX_MODULE in modules, f"{plugin.name} keeps a local index: it lives in index.py"


@pytest.mark.parametrize("plugin", PLUGIN_LIST, ids=lambda p: p.name)
def test_init_holds_the_hook_and_the_integration(plugin: Plugin) -> None:
    modules = plugin.modules()
    init = modules["__init__"]
    hooks = [
        node
        for node in init.body
        if isinstance(node, ast.FunctionDef)
        and node.name == "partnercrmd_integrations"
        and any("hookimpl" in ast.unparse(d) for d in node.decorator_list)
    ]
    assert hooks, f"{plugin.name}: __init__.py defines the @hookimpl partnercrmd_integrations"
    assert calls_to(init, "Integration") >= 1, f"{plugin.name}: __init__.py makes the Integration"
    elsewhere = [name for name, tree in modules.items() if name != "__init__" and calls_to(tree, "Integration")]
    assert elsewhere == [], f"{plugin.name}: Integration(...) is made in __init__.py only, not in {elsewhere}"


@pytest.mark.parametrize("plugin", PLUGIN_LIST, ids=lambda p: p.name)
def test_settings_holds_the_schema(plugin: Plugin) -> None:
    modules = plugin.modules()
    assert calls_to(modules["settings"], "ConfigField") >= 1, f"{plugin.name}: settings.py declares the ConfigFields"
    elsewhere = [name for name, tree in modules.items() if name != "settings" and calls_to(tree, "ConfigField")]
    assert elsewhere == [], f"{plugin.name}: ConfigField(...) belongs in settings.py, not in {elsewhere}"


@pytest.mark.parametrize("plugin", PLUGIN_LIST, ids=lambda p: p.name)
def test_connector_holds_the_connector(plugin: Plugin) -> None:
    modules = plugin.modules()
    assert connector_classes(modules["connector"]), f"{plugin.name}: connector.py defines the Connector"
    elsewhere = {name: connector_classes(tree) for name, tree in modules.items() if name != "connector"}
    assert {k: v for k, v in elsewhere.items() if v} == {}, f"{plugin.name}: connectors belong in connector.py"


@pytest.mark.parametrize("plugin", PLUGIN_LIST, ids=lambda p: p.name)
def test_checks_do_not_import_the_connector(plugin: Plugin) -> None:
    checks = plugin.modules()["checks"]
    assert "connector" not in relative_imports(checks), (
        f"{plugin.name}: checks.py imports the connector (an import circle); pass it what it uses instead"
    )


def readme_sections(text: str) -> list[str]:
    """The level-2 headings of a Markdown file, outside fenced code blocks."""
    sections, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            sections.append(line[3:].strip())
    return sections


@pytest.mark.parametrize("plugin", PLUGIN_LIST, ids=lambda p: p.name)
def test_the_readme_has_the_standard_sections_in_order(plugin: Plugin) -> None:
    readme = (plugin.distribution / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {plugin.name}"), f"{plugin.name}: the README's title is the distribution's name"
    assert readme_sections(readme) == list(README_SECTIONS), f"{plugin.name}: README sections (## headings)"


def test_the_add_in_guide_lists_the_layout_and_the_readme_sections() -> None:
    guide = (ROOT / "docs" / "addins.md").read_text(encoding="utf-8")
    for module in (*REQUIRED_MODULES, INDEX_MODULE):
        assert re.search(rf"`{re.escape(module)}(\.py)?`", guide), f"docs/addins.md does not describe {module}"
    for section in README_SECTIONS:
        assert f"`## {section}`" in guide, f"docs/addins.md does not list the README section {section}"
