"""tel:, callto: and sip: links: `partnercrmd dial URI` and the Linux URL handler, end to end.

Black-box: a real `partnercrmd serve` process (tests/daemon_process.py), the real `partnercrmd`
command, and for the handler the real xdg-utils (`xdg-mime`, `xdg-open`) and desktop-file-utils
under a temporary HOME and XDG directories, with DISPLAY on a real Xvfb.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from partnercrmd.dialling.handlers import DESKTOP_ID, SCHEMES, desktop_entry
from partnercrmd.testing import next_event
from tests.daemon_process import Daemon, describe, error_line, partnercrmd_env, run_cli, running_daemon
from tests.desktop_session import Desktop

WAIT = 10.0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp("url-handlers") / "partnercrmd-home") as running:
        yield running


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    return daemon.register_trusted("URL handler test")


@pytest.fixture
def session_env(tmp_path: Path, desktop: Desktop) -> dict[str, str]:
    """A fresh user's desktop session: its own HOME and XDG dirs, no desktop environment, DISPLAY on Xvfb."""
    home = tmp_path / "user"
    env = {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "DISPLAY": desktop.display,
    }
    for name in ("WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "KDE_FULL_SESSION", "BROWSER"):
        env[name] = ""  # xdg-utils treat empty as unset: the generic (freedesktop) code path
    (home / ".config").mkdir(parents=True)
    return env


@asynccontextmanager
async def events(daemon: Daemon, app_id: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """The daemon's event WebSocket, past its Initial event."""
    async with aiohttp.ClientSession() as session, session.ws_connect(daemon.url(f"events/{app_id}")) as ws:
        await next_event(ws, "Initial")
        yield ws


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False)


def default_handler(env: dict[str, str], scheme: str) -> str:
    return run(env, "xdg-mime", "query", "default", f"x-scheme-handler/{scheme}").stdout.strip()


# --- partnercrmd dial ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "source", "e164"),
    [
        ("tel:+44-20-7946-0321", "Tel", "+442079460321"),
        ("callto:+12127365000", "CallTo", "+12127365000"),
        ("sip:+441614960789@pbx.example.com", "Sip", "+441614960789"),
    ],
)
async def test_dial_asks_the_running_daemon_for_a_call(
    daemon: Daemon, app_id: str, uri: str, source: str, e164: str
) -> None:
    async with events(daemon, app_id) as ws:
        result = await asyncio.to_thread(run_cli, daemon.home, "dial", uri)
        assert result.returncode == 0, describe(result)
        event = await next_event(ws, "MakeCallRequest")
    assert (event["Source"], event["E164"], event["Destination"]) == (source, e164, e164)
    assert event["DisplayNumber"] in result.stdout


def test_dial_of_a_uri_without_a_number_fails_clearly(daemon: Daemon) -> None:
    result = run_cli(daemon.home, "dial", "tel:reception")
    assert result.returncode != 0, describe(result)
    assert error_line(result) == "partnercrmd: That is not one phone number that can be dialled."


def test_dial_without_a_running_daemon_fails_clearly(tmp_path: Path) -> None:
    home = tmp_path / "partnercrmd-home"
    never_started = run_cli(home, "dial", "tel:+442079460958")
    assert never_started.returncode != 0, describe(never_started)
    assert "partnercrmd is not running" in error_line(never_started)
    assert "partnercrmd serve" in error_line(never_started)

    ended = subprocess.Popen(["true"])
    ended.wait()
    home.mkdir()
    (home / "api.json").write_text(f'{{"port": 9, "token": "t", "pid": {ended.pid}, "version": "0"}}')
    crashed = run_cli(home, "dial", "tel:+442079460958")  # a discovery file left behind by a killed daemon
    assert crashed.returncode != 0 and f"process {ended.pid} has ended" in error_line(crashed), describe(crashed)


# --- partnercrmd handlers -----------------------------------------------------------------------------------


async def test_xdg_open_of_a_tel_link_reaches_the_daemon_through_the_installed_handler(
    daemon: Daemon, app_id: str, session_env: dict[str, str]
) -> None:
    installed = await asyncio.to_thread(run_cli, daemon.home, "handlers", "install", extra_env=session_env)
    assert installed.returncode == 0, describe(installed)
    desktop_file = Path(session_env["XDG_DATA_HOME"]) / "applications" / DESKTOP_ID
    validated = run(session_env, "desktop-file-validate", str(desktop_file))
    assert (validated.returncode, validated.stdout + validated.stderr) == (0, "")
    entry = dict(line.split("=", 1) for line in desktop_file.read_text().splitlines() if "=" in line)
    assert entry["MimeType"] == "x-scheme-handler/tel;x-scheme-handler/callto;x-scheme-handler/sip;"
    command, *arguments = entry["Exec"].split()
    assert Path(command).is_absolute() and Path(command).name == "partnercrmd" and Path(command).is_file()
    assert arguments == ["dial", "%u"]
    assert [default_handler(session_env, scheme) for scheme in SCHEMES] == [DESKTOP_ID] * 3

    async with events(daemon, app_id) as ws:
        opened = await asyncio.to_thread(
            subprocess.run,
            ["xdg-open", "tel:+442079460958"],
            env=partnercrmd_env(daemon.home, session_env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert opened.returncode == 0, describe(opened)
        event = await next_event(ws, "MakeCallRequest")
    assert (event["Source"], event["E164"], event["DisplayNumber"]) == ("Tel", "+442079460958", "020 7946 0958")


def test_install_is_idempotent_and_uninstall_gives_the_links_back(session_env: dict[str, str], tmp_path: Path) -> None:
    applications = Path(session_env["XDG_DATA_HOME"]) / "applications"
    applications.mkdir(parents=True)
    (applications / "other-dialer.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Other dialer\nExec=true %u\nMimeType=x-scheme-handler/tel;\n"
    )
    assert run(session_env, "xdg-mime", "default", "other-dialer.desktop", "x-scheme-handler/tel").returncode == 0
    home = tmp_path / "partnercrmd-home"
    mimeapps = Path(session_env["XDG_CONFIG_HOME"]) / "mimeapps.list"

    before = run_cli(home, "handlers", "status", extra_env=session_env)
    assert before.returncode == 1 and "not installed" in before.stdout, describe(before)
    assert "TAPI" in before.stdout and "Windows-only" in before.stdout

    first = run_cli(home, "handlers", "install", extra_env=session_env)
    assert first.returncode == 0, describe(first)
    files = ((applications / DESKTOP_ID).read_text(), mimeapps.read_text())
    again = run_cli(home, "handlers", "install", extra_env=session_env)
    assert again.returncode == 0, describe(again)
    assert ((applications / DESKTOP_ID).read_text(), mimeapps.read_text()) == files
    status = run_cli(home, "handlers", "status", extra_env=session_env)
    assert status.returncode == 0 and f"tel: links open {DESKTOP_ID}" in status.stdout, describe(status)

    removed = run_cli(home, "handlers", "uninstall", extra_env=session_env)
    assert removed.returncode == 0, describe(removed)
    assert not (applications / DESKTOP_ID).exists()
    assert [default_handler(session_env, scheme) for scheme in SCHEMES] == ["other-dialer.desktop", "", ""]
    assert run_cli(home, "handlers", "uninstall", extra_env=session_env).returncode == 0
    assert run_cli(home, "handlers", "status", extra_env=session_env).returncode == 1


def test_the_packaged_desktop_file_matches_what_install_writes() -> None:
    def keys(text: str) -> dict[str, str]:
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))

    packaged = keys((REPO / "packaging" / "linux" / DESKTOP_ID).read_text())
    written = keys(desktop_entry(Path("/usr/bin/partnercrmd"), {}))
    assert packaged == {**written, "Exec": "partnercrmd dial %u"}
