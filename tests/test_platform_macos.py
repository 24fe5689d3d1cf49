"""The macOS implementations of every platform seam, run on Linux with the system calls substituted.

launchctl, lsregister, osascript and security are a recording runner (tests/platform_fakes.py); files
go under a temporary home. Each test checks the exact commands, arguments and files macOS would get.
"""

from __future__ import annotations

import plistlib
from pathlib import Path

import pytest

from partnercrmd.dialling import handlers
from partnercrmd.dialling.clipboard import find_clipboard_helper
from partnercrmd.dialling.platform_support import screen_read_problem
from partnercrmd.errors import ConfigError
from partnercrmd.platform import autostart, notifications, tesseract, trust_store, url_handlers
from partnercrmd.platform.clipboard import NO_PRIMARY, selection_problem
from partnercrmd.platform.hotkeys import MACOS_INPUT_MONITORING, hotkey_problem
from partnercrmd.platform.screen import MACOS_SCREEN_RECORDING, display_problem, screen_recording_problem
from tests.platform_fakes import RecordingRunner, reply
from tests.test_platform_windows import self_signed

LSREGISTER = "/System/Library/Frameworks/CoreServices.framework/Frameworks/LaunchServices.framework/Support/lsregister"


# --- start at login -----------------------------------------------------------------------------------------


def test_launch_agent_is_written_and_bootstrapped_into_the_gui_domain(tmp_path: Path) -> None:
    dirs = autostart.UserDirs(tmp_path, tmp_path / ".config")
    runner = RecordingRunner()
    agent = autostart.MacAutostart(dirs, runner)
    arguments = ["serve", "--home", "/Users/a b/partnercrmd"]
    first = autostart.install_macos(dirs, "/usr/local/bin/partnercrmd", True, arguments, runner, uid=501)
    plist_path = tmp_path / "Library" / "LaunchAgents" / "com.partnercrmd.daemon.plist"
    assert plistlib.loads(plist_path.read_bytes()) == {
        "Label": "com.partnercrmd.daemon",
        "ProgramArguments": ["/usr/local/bin/partnercrmd", *arguments],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "LimitLoadToSessionType": "Aqua",
        "ProcessType": "Interactive",
    }
    assert runner.calls == [
        ["launchctl", "bootout", "gui/501", str(plist_path)],  # an older version, if loaded
        ["launchctl", "bootstrap", "gui/501", str(plist_path)],
    ]
    assert first.lines == [f"Wrote {plist_path}.", "Loaded com.partnercrmd.daemon (launchctl bootstrap gui/501)."]

    runner.calls.clear()
    runner.answers["launchctl"] = reply(returncode=37)  # "service already loaded"
    again = autostart.install_macos(dirs, "/usr/local/bin/partnercrmd", True, arguments, runner, uid=501)
    assert runner.calls == [["launchctl", "bootstrap", "gui/501", str(plist_path)]]  # unchanged: no bootout
    assert again.lines[1] == "com.partnercrmd.daemon was already loaded."
    assert agent.status().lines[1] == "  runs: /usr/local/bin/partnercrmd serve --home /Users/a b/partnercrmd"

    runner.calls.clear()
    runner.answers.clear()
    removed = autostart.uninstall_macos(dirs, True, runner, uid=501)
    assert runner.calls == [["launchctl", "bootout", "gui/501", str(plist_path)]]
    assert removed.lines == ["Unloaded com.partnercrmd.daemon.", f"Removed {plist_path}."]
    assert not plist_path.exists()


def test_a_failed_bootstrap_of_a_new_agent_is_an_error(tmp_path: Path) -> None:
    dirs = autostart.UserDirs(tmp_path, tmp_path / ".config")
    runner = RecordingRunner({"launchctl": reply(returncode=5)})
    with pytest.raises(ConfigError, match="launchctl bootstrap gui/501"):
        autostart.install_macos(dirs, "/usr/local/bin/partnercrmd", True, ["serve"], runner, uid=501)


def test_service_commands_pick_the_launch_agent_on_macos(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("sys.platform", "darwin")
    dirs = autostart.UserDirs(tmp_path, tmp_path / ".config")
    picked = autostart.for_platform(dirs=dirs)
    assert isinstance(picked, autostart.MacAutostart) and picked.load


# --- tel:, callto: and sip: links ----------------------------------------------------------------------------


def bundle(tmp_path: Path) -> Path:
    app = tmp_path / "Applications" / "partnercrmd Dialler.app"
    (app / "Contents").mkdir(parents=True)
    (app / "Contents" / "Info.plist").write_bytes(
        (Path(__file__).parents[1] / "packaging/macos/Info.plist").read_bytes()
    )
    return app


def test_url_handler_registers_the_bundle_and_sets_the_default_for_each_scheme(tmp_path: Path) -> None:
    app = bundle(tmp_path)
    runner = RecordingRunner({"osascript": reply("0\n")})
    links = url_handlers.MacUrlHandlers(app, runner)
    links.install()
    set_calls = runner.calls[1:4]
    assert runner.calls[0] == [LSREGISTER, "-f", str(app)]
    assert set_calls == [
        [
            "osascript",
            "-l",
            "JavaScript",
            "-e",
            "ObjC.import('CoreServices'); "
            f'$.LSSetDefaultHandlerForURLScheme($("{scheme}"), $("org.partnercrmd.dialler"))',
        ]
        for scheme in ("tel", "callto", "sip")
    ]
    query = runner.calls[4]
    assert (
        query[:4] == ["osascript", "-l", "JavaScript", "-e"]
        and 'LSCopyDefaultHandlerForURLScheme($("tel"))' in query[4]
    )

    runner.answers["osascript"] = reply("org.partnercrmd.dialler\n")
    state = links.status()
    assert state.registered and state.kind == "Application bundle"
    assert f"Application bundle: {app} (installed)" == handlers.describe(state)[0]

    runner.calls.clear()
    links.uninstall()
    assert runner.calls[0] == [LSREGISTER, "-u", str(app)]


def test_url_handler_without_the_bundle_says_how_to_build_it(tmp_path: Path) -> None:
    runner = RecordingRunner()
    with pytest.raises(ConfigError, match=r"packaging/macos/README\.md"):
        url_handlers.MacUrlHandlers(tmp_path / "Applications" / "partnercrmd Dialler.app", runner).install()
    assert runner.calls == []


def test_url_handler_refused_by_launchservices_is_an_error(tmp_path: Path) -> None:
    runner = RecordingRunner({"osascript": reply("-54\n")})
    with pytest.raises(ConfigError, match=r"refused to make org.partnercrmd.dialler the handler of tel: links \(-54\)"):
        url_handlers.MacUrlHandlers(bundle(tmp_path), runner).install()


def test_the_bundle_identifier_is_the_packaged_one() -> None:
    info = plistlib.loads((Path(__file__).parents[1] / "packaging/macos/Info.plist").read_bytes())
    assert info["CFBundleIdentifier"] == url_handlers.BUNDLE_ID
    assert info["CFBundleURLTypes"][0]["CFBundleURLSchemes"] == list(url_handlers.SCHEMES)


# --- the desktop jobs ----------------------------------------------------------------------------------------


def test_screen_capture_needs_the_screen_recording_permission() -> None:
    assert screen_recording_problem("darwin", preflight=lambda: False) == MACOS_SCREEN_RECORDING
    assert screen_recording_problem("darwin", preflight=lambda: True) is None
    assert screen_recording_problem("linux", preflight=lambda: False) is None
    assert display_problem({}, "darwin") is None  # no DISPLAY on macOS


def test_hotkeys_need_input_monitoring_and_the_selection_does_not_exist() -> None:
    assert hotkey_problem(trusted=False, platform="darwin") == MACOS_INPUT_MONITORING
    assert hotkey_problem(trusted=False, platform="win32") is None
    assert selection_problem({}, "darwin") == NO_PRIMARY
    assert find_clipboard_helper({}, "darwin").name == "pbpaste"


def test_tesseract_is_looked_for_where_homebrew_and_macports_put_it(tmp_path: Path) -> None:
    assert tesseract.candidates({}, "darwin") == [
        Path("/opt/homebrew/bin/tesseract"),
        Path("/usr/local/bin/tesseract"),
        Path("/opt/local/bin/tesseract"),
    ]
    app = tmp_path / "partnercrmd.app" / "Contents" / "Frameworks"
    (app / "tesseract" / "tessdata").mkdir(parents=True)
    (app / "tesseract" / "tesseract").write_bytes(b"")
    found = tesseract.find_tesseract({"PATH": str(tmp_path)}, "darwin", build=app)
    assert found == tesseract.Tesseract(str(app / "tesseract" / "tesseract"), str(app / "tesseract" / "tessdata"))
    assert "brew install tesseract" in (screen_read_problem({"PATH": str(tmp_path)}, platform="darwin") or "")


def test_a_notification_passes_its_texts_as_arguments_not_as_applescript() -> None:
    runner = RecordingRunner()
    assert notifications.for_platform("darwin", runner).notify('Call "now"', 'end run\ndo shell script "x"')
    assert runner.calls == [
        [
            "osascript",
            "-e",
            "on run argv",
            "-e",
            "display notification (item 2 of argv) with title (item 1 of argv)",
            "-e",
            "end run",
            'Call "now"',
            'end run\ndo shell script "x"',
        ]
    ]
    linux = RecordingRunner()
    notifications.for_platform("linux", linux).notify("-t", "x")
    assert linux.calls == [["notify-send", "--app-name=partnercrmd", "--", "-t", "x"]]


def test_the_authority_goes_to_the_login_keychain(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "authority.pem")
    store = trust_store.for_platform("darwin", home=tmp_path)
    runner = RecordingRunner()
    trust_store.trust(store, certificate, runner)
    trust_store.distrust(store, certificate, runner)
    keychain = str(tmp_path / "Library" / "Keychains" / "login.keychain-db")
    assert runner.calls == [
        ["security", "add-trusted-cert", "-r", "trustRoot", "-k", keychain, str(certificate)],
        ["security", "remove-trusted-cert", str(certificate)],
        ["security", "delete-certificate", "-Z", trust_store.sha1_thumbprint(certificate), keychain],
    ]
    linux = RecordingRunner()
    trust_store.trust(trust_store.for_platform("linux", home=tmp_path), certificate, linux)
    database = f"sql:{tmp_path / '.pki' / 'nssdb'}"
    assert linux.calls == [
        ["certutil", "-d", database, "-A", "-t", "C,,", "-n", "partnercrmd local authority", "-i", str(certificate)]
    ]


def test_a_failing_trust_command_is_an_error(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "authority.pem")
    runner = RecordingRunner({"security": reply(returncode=1)})
    with pytest.raises(ConfigError, match="security add-trusted-cert"):
        trust_store.trust(trust_store.for_platform("darwin", home=tmp_path), certificate, runner)
