"""No import circles in partnercrmd/ and the add-ins under plugins/, counting every import statement: at module
level, inside functions, and under `if TYPE_CHECKING:` (a type-only circle is still two modules that cannot be
understood, moved or tested one without the other)."""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Mapping
from pathlib import Path

from tests.python_source import parse_source

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_PARTS = {"__pycache__", "build", "dist", "tests", "scripts", "bench"}


def package_roots(root: Path) -> list[tuple[Path, Path]]:
    """(package folder, the folder its dotted names start from) of the core and of every add-in."""
    roots = [(root / "partnercrmd", root)]
    for distribution in sorted((root / "plugins").iterdir()):
        roots += [(package, distribution) for package in sorted(distribution.glob("partnercrmd_*")) if package.is_dir()]
    return roots


def module_files(roots: list[tuple[Path, Path]]) -> dict[str, Path]:
    """Dotted module name → file, for every module of the given packages."""
    modules: dict[str, Path] = {}
    for package, base in roots:
        for path in sorted(package.rglob("*.py")):
            if SKIPPED_PARTS & set(path.relative_to(package).parts):
                continue
            name = ".".join(path.relative_to(base).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name `module` imports anywhere in its source, relative imports resolved."""
    names: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(parse_source(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module → the modules of the same tree it imports (a name resolves to the longest module it starts with)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges = graph.setdefault(module, set())
        for name in imported_names(module, path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            # a package's submodules importing the package itself (`from . import x`) is not a circle between files
            if name and name != module and not module.startswith(name + "."):
                edges.add(name)
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """One import circle of `graph` (its modules in order, the first repeated at the end), or [] if there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def test_the_core_and_the_addins_import_each_other_in_no_circle() -> None:
    modules = module_files(package_roots(ROOT))
    assert "partnercrmd.app" in modules and any(m.startswith("partnercrmd_ldap.") for m in modules)
    cycle = find_cycle(import_graph(modules))
    assert cycle == [], "import circle: " + " -> ".join(cycle)


def test_a_circle_through_type_checking_or_function_local_imports_is_found(tmp_path: Path) -> None:
    package = tmp_path / "partnercrmd"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "keys.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .service import S\n"
    )
    (package / "service.py").write_text("from . import keys\n")
    (package / "lazy.py").write_text("def f():\n    from .other import g\n")
    (package / "other.py").write_text("from partnercrmd.lazy import f\n")
    (tmp_path / "plugins").mkdir()
    graph = import_graph(module_files(package_roots(tmp_path)))
    assert graph["partnercrmd.keys"] == {"partnercrmd.service"}
    assert graph["partnercrmd.service"] == {"partnercrmd.keys"}
    assert graph["partnercrmd.lazy"] == {"partnercrmd.other"}
    assert find_cycle(graph)
    del graph["partnercrmd.keys"]
    graph["partnercrmd.service"] = set()
    assert set(find_cycle(graph)) == {"partnercrmd.lazy", "partnercrmd.other"}
