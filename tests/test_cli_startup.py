"""The CLI's light commands load only what they use (issue #18): a click on a tel: link must dial at once.

Black-box: the real command in a subprocess under `python -X importtime`, which names every module the
process imported, and for `dial` a real `partnercrmd serve` process and its event WebSocket.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from partnercrmd.testing import next_event
from tests.daemon_process import Daemon, describe, partnercrmd_env, running_daemon

DAEMON_MODULES = ("aiohttp", "pluggy", "partnercrmd.hookspecs", "partnercrmd.addin_host", "partnercrmd.daemon")
"""aiohttp (its server and client), pluggy, the add-in contract and host, the daemon."""
ADDIN_MODULES = ("partnercrmd.local_book", "partnercrmd_")
"""The built-in local book add-in and every add-in distribution (`partnercrmd_carddav`, …)."""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp("cli-startup") / "partnercrmd-home") as running:
        yield running


def run_traced(home: Path, *args: str, stdin: str = "") -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`partnercrmd ARGS…` run as `python -X importtime -m partnercrmd`; the result and every module it imported.

    (The trace names modules imported by an import statement; the command module itself, loaded through
    `importlib.import_module`, is not named, but everything it imports is.)
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "partnercrmd", *args],
        env=partnercrmd_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    imported = {
        line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "partnercrmd.cli" in imported, describe(result)  # the trace worked
    return result, imported


def loaded(imported: set[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules of `imported` that are, or are inside, one of `prefixes`."""
    return sorted(
        m for m in imported if any(m == p or m.startswith(p if p.endswith("_") else p + ".") for p in prefixes)
    )


@asynccontextmanager
async def events(daemon: Daemon, app_id: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(daemon.url(f"events/{app_id}")) as ws:
        await next_event(ws, "Initial")
        yield ws


async def test_dial_reaches_the_daemon_without_importing_the_daemon_pluggy_or_addins(daemon: Daemon) -> None:
    app_id = daemon.register_trusted("CLI start-up test")
    async with events(daemon, app_id) as ws:
        result, imported = await asyncio.to_thread(run_traced, daemon.home, "dial", "tel:+44-20-7946-0321")
        assert result.returncode == 0, describe(result)
        event = await next_event(ws, "MakeCallRequest")
    assert event["E164"] == "+442079460321"
    assert "partnercrmd.discovery" in imported  # the trace sees the command's own imports
    assert loaded(imported, DAEMON_MODULES + ADDIN_MODULES) == []
    assert loaded(imported, ("phonenumbers", "cryptography", "partnercrmd.vault")) == []


def test_version_imports_neither_the_daemon_nor_cryptography(tmp_path: Path) -> None:
    result, imported = run_traced(tmp_path / "home", "version")
    assert result.returncode == 0, describe(result)
    assert result.stdout == "partnercrmd 0.1.0\n"
    assert loaded(imported, DAEMON_MODULES + ADDIN_MODULES + ("cryptography", "phonenumbers")) == []


def test_numbers_imports_number_detection_but_not_the_daemon(tmp_path: Path) -> None:
    result, imported = run_traced(tmp_path / "home", "numbers", "--region", "GB", stdin="Call 020 7946 0321 today")
    assert result.returncode == 0, describe(result)
    assert result.stdout == "+442079460321\n"
    assert loaded(imported, DAEMON_MODULES + ADDIN_MODULES + ("cryptography",)) == []


def test_a_heavy_command_still_loads_its_module_and_the_addins(tmp_path: Path) -> None:
    result, imported = run_traced(tmp_path / "home", "books", "types")
    assert result.returncode == 0, describe(result)
    assert "local" in result.stdout.split()
    assert {"partnercrmd.addin_host", "pluggy", "partnercrmd.local_book.store"} <= imported  # the add-ins are loaded


def test_token_and_ui_reach_the_daemon_without_importing_the_daemon_or_the_vault(daemon: Daemon) -> None:
    token, imported = run_traced(daemon.home, "token")
    assert (token.returncode, token.stdout) == (0, daemon.token + "\n"), describe(token)
    assert loaded(imported, DAEMON_MODULES + ADDIN_MODULES + ("cryptography", "partnercrmd.vault")) == []
    shown, imported = run_traced(daemon.home, "ui", "integrations", "--print")
    assert shown.returncode == 0 and "/ui/login/" in shown.stdout, describe(shown)
    assert loaded(imported, DAEMON_MODULES + ADDIN_MODULES + ("cryptography", "partnercrmd.vault")) == []
