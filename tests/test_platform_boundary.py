"""The rule that keeps Windows and macOS working by construction: system-specific calls live in partnercrmd/platform/.

Every module that ships (the core and each plugin's package) is read, and any import of a module that
exists on one system only, or any call of an `os`/`signal` function that is POSIX-only, outside
`partnercrmd/platform/` is reported with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.python_source import parse_source

REPO = Path(__file__).resolve().parents[1]
PLATFORM_PACKAGE = REPO / "partnercrmd" / "platform"
SYSTEM_MODULES = {"fcntl", "msvcrt", "winreg", "pwd", "grp", "resource", "termios", "_winapi"}
"""Modules that exist on Windows only or on POSIX only."""
POSIX_ONLY = {
    "os": {
        "getuid",
        "geteuid",
        "getgid",
        "fchmod",
        "fchown",
        "chown",
        "kill",
        "killpg",
        "getpgid",
        "setsid",
        "fork",
        "getloadavg",
        "sysconf",
        "uname",
        "mkfifo",
    },
    "signal": {"SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "alarm", "pthread_kill"},
}
LOOP_SIGNALS = {"add_signal_handler", "remove_signal_handler"}
"""Event-loop methods that Windows loops do not implement."""


def shipped_modules() -> list[Path]:
    packages = [REPO / "partnercrmd", *sorted(REPO.glob("plugins/*/partnercrmd_*/"))]
    return sorted(
        path
        for package in packages
        if package.is_dir() and not package.name.endswith(".egg-info")
        for path in package.rglob("*.py")
        if PLATFORM_PACKAGE not in path.parents
    )


def violations(path: Path, root: Path = REPO) -> list[str]:
    """`file:line: what` for each system-specific import or call in the module at `path`."""
    found: list[tuple[int, str]] = []
    where = path.relative_to(root)
    for node in ast.walk(parse_source(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module in SYSTEM_MODULES else [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else "…"
            if node.attr in POSIX_ONLY.get(owner, set()) or node.attr in LOOP_SIGNALS:
                found.append((node.lineno, f"{where}:{node.lineno}: {owner}.{node.attr}"))
            continue
        else:
            continue
        for name in names:
            top, _, attribute = name.partition(".")
            if top in SYSTEM_MODULES or attribute in POSIX_ONLY.get(top, set()):
                found.append((node.lineno, f"{where}:{node.lineno}: import {name}"))
    return [text for _, text in sorted(found)]


def test_system_specific_calls_are_only_in_the_platform_package() -> None:
    modules = shipped_modules()
    assert len(modules) > 100 and any("partnercrmd_carddav" in str(m) for m in modules)
    assert [v for module in modules for v in violations(module)] == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import fcntl\nimport os, signal\nfrom winreg import HKEY_CURRENT_USER\nos.getuid()\nsignal.SIGKILL\n"
        "loop.add_signal_handler(2, print)\nos.getpid()\n",
        encoding="utf-8",
    )
    found = [line.split(": ", 1)[1] for line in violations(sample, tmp_path)]
    assert found == ["import fcntl", "import winreg", "os.getuid", "signal.SIGKILL", "loop.add_signal_handler"]
