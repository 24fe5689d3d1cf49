"""The daemon imported and started as on Windows and on macOS (sys.platform patched, the system calls substituted).

Every `partnercrmd` module is imported afresh while sys.platform says "win32" or "darwin"; the
application factory then starts behind a real HTTP server (aiohttp's test client, as the
partnercrmd.testing fixtures do) and answers the API. As Windows, `winreg`, `msvcrt` and kernel32 are
fakes and every Unix-only call (fcntl, os.getuid, os.fchmod, os.chmod, os.kill, add_signal_handler)
raises: the test fails if one is reached. As macOS, the Linux-only desktop tools (xclip, xdg-mime,
systemctl, the X11 keyboard listener) raise instead.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from partnercrmd.testing import AiohttpClient, RecordingOpener
from tests.platform_fakes import PretendPlatform, UnixOnlyCallReached, pretend_to_be

LINUX_ONLY_TOOLS = {"xclip", "xsel", "wl-paste", "xdg-mime", "xdg-open", "systemctl", "update-desktop-database"}


@pytest.fixture(params=["win32", "darwin"])
def pretending(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[PretendPlatform]:
    """sys.platform patched, its system calls substituted, and no partnercrmd module (core or add-in) imported yet."""
    fakes = pretend_to_be(monkeypatch, request.param)
    for name in [m for m in sys.modules if m == "partnercrmd" or m.startswith(("partnercrmd.", "partnercrmd_"))]:
        monkeypatch.delitem(sys.modules, name)  # the core and the add-ins; restored afterwards for other tests
    monkeypatch.setenv("PARTNERCRMD_HOME", str(tmp_path / "partnercrmd-home"))
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    real_popen = subprocess.Popen

    def popen(args: Any, *rest: Any, **options: Any) -> Any:
        program = Path(str(args[0] if isinstance(args, list | tuple) else args)).name
        if program in LINUX_ONLY_TOOLS:
            fakes.unix_calls.append(program)
            raise UnixOnlyCallReached(f"the Linux tool {program} was run as {request.param}")
        return real_popen(args, *rest, **options)

    monkeypatch.setattr(subprocess, "Popen", popen)
    yield fakes
    assert fakes.unix_calls == [], f"reached as {request.param}: {fakes.unix_calls}"


def fresh(name: str) -> ModuleType:
    return importlib.import_module(name)


async def test_the_application_factory_serves_the_api(
    pretending: PretendPlatform, aiohttp_client: AiohttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = fresh("partnercrmd.daemon")
    assert fresh("partnercrmd.platform").system() == pretending.platform
    hotkeys = fresh("partnercrmd.platform.hotkeys")
    monkeypatch.setattr(hotkeys, "_x11_listener_class", lambda: pytest.fail("the X11 listener was asked for"))
    paths = fresh("partnercrmd.paths").Paths.from_env()
    config = fresh("partnercrmd.config").DaemonConfig(
        paths=paths, port=0, region="GB", opener=RecordingOpener(), registration_wait=1.0, vault_poll_interval=0.05
    )
    app = daemon.create_app(config)
    client = await aiohttp_client(app)
    config.port = client.port  # links the daemon builds point at this server
    appkeys = fresh("partnercrmd.appkeys")
    token = app[appkeys.INSTALL_TOKEN].value
    addins = app[appkeys.HOST].addins.values()
    assert len(addins) > 1 and [a.name for a in addins if a.error] == []  # every installed add-in loads here too

    version = await client.get("/api/v1/Version")
    assert version.status == 200, await version.text()
    registered = await client.post(
        "/api/v1/Register", data={"Name": "Softphone", "Id": "phone-1"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert registered.status == 204, await registered.text()
    found = await client.post("/api/v1/Search", data={"query": "02079460958"}, headers={"ApplicationId": "phone-1"})
    assert found.status == 200, await found.text()
    assert (paths.config_dir / "vault.bin").is_file()
    if pretending.platform == "win32":
        assert pretending.msvcrt.calls, "the vault lock went through msvcrt"

    # the configuration page's link handlers, through the platform's own registration
    login = fresh("partnercrmd.pages").window_login_url(app, "dialling").split(f":{client.port}", 1)[1]
    assert (await client.get(login, allow_redirects=False)).status == 303
    page = await (await client.get("/ui/dialling")).text()
    assert "tel: links open another program" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    enabled = await client.post(
        "/ui/dialling/handlers", data={"csrf": csrf.group(1), "action": "enable"}, allow_redirects=False
    )
    if pretending.platform == "win32":
        assert "has no TAPI component" in page
        assert enabled.status == 303, await enabled.text()
        command = pretending.winreg.values()[(r"Software\Classes\PartnerCRMD.DialLink\shell\open\command", "")]
        assert command.endswith(' -m partnercrmd dial "%1"')
        assert "Choose defaults by link type" in await (await client.get("/ui/dialling")).text()
    else:
        assert "TAPI is Windows-only" in page
        assert enabled.status == 400 and "build the dialler bundle first" in await enabled.text()


async def test_run_daemon_listens_writes_discovery_and_stops_on_ctrl_c(pretending: PretendPlatform) -> None:
    daemon = fresh("partnercrmd.daemon")
    paths = fresh("partnercrmd.paths").Paths.from_env()
    paths.ensure()
    config = fresh("partnercrmd.config").DaemonConfig(paths=paths, port=0, region="GB", opener=RecordingOpener())
    running = asyncio.create_task(daemon.run_daemon(config))
    for _ in range(200):
        if paths.discovery_file.is_file() or running.done():
            break
        await asyncio.sleep(0.05)
    assert paths.discovery_file.is_file(), running.exception() if running.done() else "no discovery file"
    port = json.loads(paths.discovery_file.read_text(encoding="utf-8"))["port"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/v1/Version HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()
    signal.raise_signal(signal.SIGINT)  # Ctrl+C: through signal.signal as on Windows, add_signal_handler on macOS
    await asyncio.wait_for(running, 10)
    assert not paths.discovery_file.exists()


def test_the_cli_reports_the_platform_service_and_handlers(
    pretending: PretendPlatform, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cli = fresh("partnercrmd.cli")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "user"))
    service_status = cli.main(["service", "status"])
    out = capsys.readouterr().out
    assert service_status == 1
    if pretending.platform == "win32":
        assert r"Run key: HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\partnercrmd" in out
        assert cli.main(["handlers", "install"]) == 0
        assert (
            r"Registry key: HKEY_CURRENT_USER\Software\Classes\PartnerCRMD.DialLink (installed)"
            in capsys.readouterr().out
        )
        assert pretending.winreg.values()[(r"Software\Classes\PartnerCRMD.DialLink", "URL Protocol")] == ""
    else:
        assert (
            f"LaunchAgent: {tmp_path / 'user' / 'Library/LaunchAgents/com.partnercrmd.daemon.plist'} (not installed)"
            in out
        )
        assert cli.main(["handlers", "install"]) == 2  # the dialler bundle is not built: says how
        assert "packaging/macos/README.md" in capsys.readouterr().err
