"""Acceptance (issue #17, item 8): a branded build shows the default product name only where docs/branding.md says.

One real `partnercrmd serve`, branded "Quillmere Voice" (a name found nowhere else), under a private
home, HOME and XDG directories. Everything a user of that product can see is scanned for "partnercrmd":
every configuration page reachable while logged in (crawled from the navigation, so pages added later
are scanned too) and the pages shown without a login, the browser extension's packages (unzipped), the
desktop and service files `handlers install` and `service install` write, the help of every command and
subcommand and the messages of every command, the OpenAPI document, and the exported CRM viewer.

What may still say "partnercrmd" (the command, environment variables, file names…) is the list of regular
expressions in docs/branding.md ("Names that stay"): the scan reads it from there, so the document and
the test cannot disagree.
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import io
import json
import os
import re
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from partnercrmd.cli import build_parser, main
from tests.daemon_process import Daemon, describe, run_cli
from tests.recording_browser import RecordingBrowser

ROOT = Path(__file__).resolve().parent.parent
BRANDING_DOC = ROOT / "docs" / "branding.md"
PRODUCT = "Quillmere Voice"
DEFAULT_NAME = re.compile(r"partnercrmd", re.IGNORECASE)
UNSAFE_LINKS = re.compile(r"/(logout|login)\b|/download/|\.(zip|png|jpe?g|svg|ico|css|js)$")
"""Links the crawler does not follow as pages: logging in or out, downloads and files (scanned on their own)."""


# --- the allow-list, read from docs/branding.md -----------------------------------------------------------


def allowed_patterns() -> list[re.Pattern[str]]:
    """The regular expressions of the ```regex block under "Names that stay" in docs/branding.md."""
    text = BRANDING_DOC.read_text(encoding="utf-8")
    section = text.split("## Names that stay", 1)
    assert len(section) == 2, "docs/branding.md has no 'Names that stay' section"
    block = re.search(r"```regex\n(.*?)```", section[1], re.DOTALL)
    assert block, "docs/branding.md: 'Names that stay' has no ```regex block"
    lines = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert lines, "docs/branding.md: the allow-list is empty"
    return [re.compile(line) for line in lines]


ALLOWED = allowed_patterns()


def leaks(text: str) -> list[str]:
    """Each place the default name appears in `text` outside the allow-list, with some context."""
    for pattern in ALLOWED:
        text = pattern.sub(" ", text)
    return [text[max(0, m.start() - 80) : m.end() + 80].replace("\n", " ") for m in DEFAULT_NAME.finditer(text)]


def assert_no_leaks(found: dict[str, list[str]]) -> None:
    found = {where: places for where, places in found.items() if places}
    report = "\n".join(f"{where}:\n  " + "\n  ".join(places[:5]) for where, places in found.items())
    assert not found, f"the default name shows in the branded build ({len(found)} places):\n{report}"


# --- the branded install ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("branded")


@pytest.fixture(scope="module")
def env(base: Path) -> dict[str, str]:
    """The branded user's environment: the branding file, a home, HOME and XDG dirs, a recording "browser"."""
    branding = base / "branding.toml"
    branding.write_text(
        f'[product]\nname = "{PRODUCT}"\nvendor = "Quillmere Telecom"\n'
        'guide_url = "https://quillmere.example/guide"\n'
        'request_integration_url = "https://quillmere.example/request"\n'
        "install_hint = \"run Quillmere's installer again and tick '{extra}'\"\n",
        encoding="utf-8",
    )
    recorder = RecordingBrowser.create(base)
    runtime = base / "runtime"
    runtime.mkdir(mode=0o700)
    without_ocr = base / "without-ocr"  # as a user who has not added the OCR extra: its install hint is shown
    without_ocr.mkdir()
    (without_ocr / "sitecustomize.py").write_text('import sys\nsys.modules["mss"] = None  # "not installed"\n')
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(without_ocr), os.environ.get("PYTHONPATH", "")])),
        "PARTNERCRMD_BRANDING": str(branding),
        **recorder.env,
        "HOME": str(base / "user"),
        "XDG_DATA_HOME": str(base / "user" / ".local" / "share"),
        "XDG_CONFIG_HOME": str(base / "user" / ".config"),
        "XDG_RUNTIME_DIR": str(runtime),  # no systemd user session: `service install` never reaches the real one
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
    }


@pytest.fixture(scope="module")
def daemon(base: Path, env: dict[str, str]) -> Iterator[Daemon]:
    instance = Daemon(base / "quillmere-home", extra_env=env)
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    return daemon.register_trusted("Branding scan")


def cli(daemon: Daemon, env: dict[str, str], *args: str) -> str:
    """Run a command of the branded install (its own process); what it printed on stdout and stderr."""
    result = run_cli(daemon.home, *args, extra_env=env)
    return f"{result.stdout}{result.stderr}"


# --- the pages ----------------------------------------------------------------------------------------------


class Browser:
    """urllib with a cookie jar: what a browser sends for GET requests to the configuration pages."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of GET path, redirects followed."""
        try:
            with self.opener.open(self.origin + path, timeout=30) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read()


def logged_in(daemon: Daemon, app_id: str, base: Path) -> Browser:
    """A browser that followed ShowWindow's one-time login link (as the user's browser would)."""
    link = RecordingBrowser.in_folder(base).login_link(daemon, app_id, "integrations")
    parsed = urllib.parse.urlsplit(link)
    browser = Browser(f"{parsed.scheme}://{parsed.netloc}")
    status, _, body = browser.get(parsed.path)
    assert status == 200, body[:500]
    return browser


def same_origin_links(page: str) -> list[str]:
    """The paths of this daemon's pages a page links to (href of a and link elements, form actions are POST)."""
    paths = []
    for href in re.findall(r'<a\b[^>]*\bhref="([^"]+)"', page):
        url = urllib.parse.urlsplit(html.unescape(href))
        if not url.scheme and not url.netloc and url.path.startswith("/"):
            paths.append(url.path + (f"?{url.query}" if url.query else ""))
    return paths


def crawl(browser: Browser, start: list[str]) -> dict[str, str]:
    """Every page reachable from `start` by following links (GET only, files and log-outs left out): path → text."""
    pages: dict[str, str] = {}
    queue = list(start)
    while queue:
        path = queue.pop(0)
        if path in pages or UNSAFE_LINKS.search(path.split("?")[0]):
            continue
        status, content_type, body = browser.get(path)
        text = body.decode("utf-8", errors="replace")
        pages[path] = text
        assert status < 500, f"GET {path} -> {status}: {text[:300]}"
        if "html" in content_type:
            queue.extend(p for p in same_origin_links(text) if p not in pages)
    return pages


def test_every_page_logged_in_or_not_names_only_the_product(daemon: Daemon, app_id: str, base: Path) -> None:
    anonymous = Browser(f"http://127.0.0.1:{daemon.port}")
    found = {f"{path} (no login)": leaks(anonymous.get(path)[2].decode()) for path in ("/ui/integrations", "/ui/nope")}
    browser = logged_in(daemon, app_id, base)
    pages = crawl(browser, ["/ui/integrations", "/ui/configuration", "/extension/"])
    assert {"/ui/integrations", "/ui/dialling", "/ui/applications", "/ui/viewer", "/ui/about"} <= set(pages)
    assert any(p.startswith("/ui/books/") for p in pages) and any(p.endswith("/add") for p in pages), sorted(pages)
    found.update({path: leaks(text) for path, text in pages.items()})
    for path in ("/static/style.css", "/branding/style.css", "/static/dialling.js", "/static/viewer.js"):
        found[path] = leaks(browser.get(path)[2].decode("utf-8", errors="replace"))
    assert_no_leaks(found)


def test_the_dialling_page_and_the_ocr_command_give_the_partners_install_hint(
    daemon: Daemon, app_id: str, env: dict[str, str], base: Path
) -> None:
    page = logged_in(daemon, app_id, base).get("/ui/dialling")[2].decode()
    assert "needs the OCR extra: run Quillmere&#39;s installer again and tick &#39;ocr&#39;" in page
    assert "[ocr]" not in page
    image = base / "numbers.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    message = cli(daemon, env, "ocr", str(image))
    assert "run Quillmere's installer again and tick 'ocr'" in message, message


# --- the browser extension ----------------------------------------------------------------------------------


def test_the_extension_packages_carry_the_products_name(daemon: Daemon, app_id: str, base: Path) -> None:
    browser = logged_in(daemon, app_id, base)
    found: dict[str, list[str]] = {}
    for engine in ("chromium", "firefox"):
        for route in (f"/extension/download/{engine}", f"/extension/partnercrmd-{engine}.zip"):
            status, _, body = browser.get(route)
            assert status == 200, route
            with zipfile.ZipFile(io.BytesIO(body)) as package:
                manifest = json.loads(package.read("manifest.json"))
                messages = json.loads(package.read("_locales/en/messages.json"))
                assert manifest["default_locale"] == "en"
                assert manifest["name"] == "__MSG_extensionName__"
                assert messages["extensionName"]["message"] == f"{PRODUCT} click-to-dial"
                assert PRODUCT in messages["extensionDescription"]["message"]
                assert messages["productName"]["message"] == PRODUCT
                for name in package.namelist():
                    found[f"{route}!{name}"] = leaks(package.read(name).decode("utf-8", errors="replace"))
    assert_no_leaks(found)


# --- desktop and service files ------------------------------------------------------------------------------


def files_under(folder: Path) -> dict[str, str]:
    return {str(p): p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()}


def test_desktop_entries_and_service_files_name_the_product(daemon: Daemon, env: dict[str, str], base: Path) -> None:
    user = Path(env["HOME"])
    found: dict[str, list[str]] = {}
    for command in ("install", "status"):
        found[f"handlers {command}"] = leaks(cli(daemon, env, "handlers", command))
    for command in ("install", "status"):
        found[f"service {command} (XDG autostart)"] = leaks(cli(daemon, env, "service", command))
    written = files_under(user)
    assert any(p.endswith("autostart/partnercrmd.desktop") for p in written), sorted(written)
    assert any(p.endswith("applications/partnercrmd-url-handler.desktop") for p in written), sorted(written)
    found.update({path: leaks(text) for path, text in written.items()})
    for key, value in written.items():
        if key.endswith(".desktop"):
            assert re.search(rf"^Name={PRODUCT}", value, re.MULTILINE), value

    # A systemd user session (a systemctl that answers): the unit file and its messages.
    tools = base / "systemd-tools"
    tools.mkdir(exist_ok=True)
    systemctl = tools / "systemctl"
    systemctl.write_text(
        '#!/bin/sh\n[ "$2" = is-enabled ] && echo enabled\n[ "$2" = is-active ] && echo active\nexit 0\n'
    )
    systemctl.chmod(0o755)
    with_systemd = {**env, "PATH": f"{tools}:{os.environ['PATH']}"}
    for command in ("install", "status", "uninstall"):
        found[f"service {command} (systemd)"] = leaks(cli(daemon, with_systemd, "service", command))
    cli(daemon, with_systemd, "service", "install")
    unit = user / ".config" / "systemd" / "user" / "partnercrmd.service"
    assert unit.is_file()
    assert f"Description={PRODUCT}" in unit.read_text()
    found[str(unit)] = leaks(unit.read_text())
    for command in ("uninstall",):
        found[f"service {command} (systemd, again)"] = leaks(cli(daemon, with_systemd, "service", command))
    found["handlers uninstall"] = leaks(cli(daemon, env, "handlers", "uninstall"))
    assert_no_leaks(found)


def test_on_windows_and_macos_what_handlers_and_service_install_write_names_the_product(
    env: dict[str, str], base: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`handlers install` and `service install` of the branded install, run as on Windows (a registry over a
    dict) and on macOS (launchctl not run): every value written, the LaunchAgent, and what they print."""
    from tests.platform_fakes import pretend_to_be

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PARTNERCRMD_HOME", str(base / "platforms-home"))
    found: dict[str, list[str]] = {}
    with monkeypatch.context() as windows_only:
        windows = pretend_to_be(windows_only, "win32")
        for command in (["handlers", "install"], ["service", "install"], ["handlers", "status"]):
            main(command)
            found[f"{' '.join(command)} (Windows)"] = leaks(capsys.readouterr().out)
        written = windows.winreg.values()
        assert written[(r"Software\PartnerCRMD\Capabilities", "ApplicationName")] == PRODUCT
        found["the registry values written"] = leaks("\n".join(f"{k}\\{n} = {v}" for (k, n), v in written.items()))
    with monkeypatch.context() as macos_only:
        pretend_to_be(macos_only, "darwin")
        macos_only.setattr("partnercrmd.platform.autostart.MacAutostart.load", False)
        main(["service", "install"])
        found["service install (macOS)"] = leaks(capsys.readouterr().out)
    agents = files_under(Path(env["HOME"]) / "Library" / "LaunchAgents")
    assert any(path.endswith("com.partnercrmd.daemon.plist") for path in agents), agents
    found.update({path: leaks(text) for path, text in agents.items()})
    assert_no_leaks(found)


# --- the command line ---------------------------------------------------------------------------------------


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand of the CLI (built-in and add-ins'), as argument lists."""
    yield prefix
    for action in parser._actions:  # argparse keeps subcommands there; it has no public accessor
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*prefix, name))


def test_the_help_of_every_command_names_only_the_product(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    paths = list(command_paths(build_parser()))
    assert len(paths) > 40 and ("books", "types") in paths
    found: dict[str, list[str]] = {}
    for path in paths:
        with pytest.raises(SystemExit) as exited:
            main([*path, "--help"])
        assert exited.value.code == 0
        found[" ".join(path) or "(top)"] = leaks(capsys.readouterr().out)
    assert_no_leaks(found)


def test_the_messages_of_every_command_name_only_the_product(
    daemon: Daemon, app_id: str, env: dict[str, str], base: Path
) -> None:
    out = base / "messages"
    out.mkdir()
    runs = [
        ("version",),
        ("books", "types"),
        ("books", "list"),
        ("books", "test", "no-such-book"),
        ("books", "add", "carddav", "--set", "url=ftp://x"),
        ("books", "diagnose", "no-such-book"),
        ("apps", "list"),
        ("apps", "approve", "no-such-app"),
        ("settings", "show"),
        ("settings", "set", "no_such_key=1"),
        ("vault", "info"),
        ("extension", "pair"),
        ("extension", "list"),
        ("extension", "packages"),
        ("dial", "tel:+442079460958"),
        ("dial", "mailto:someone"),
        ("numbers", "--region", "ZZ"),
        ("ocr", str(out / "no-such.png")),
        ("import", str(out / "no-such.vcf")),
        ("outbox", "list"),
        ("outbox", "retry"),
        ("licence", "show"),
        ("licence", "install", str(out / "no-such.lic")),
        ("partner", "keygen", "--out", str(out / "key.pem")),
        ("unlock", "not-a-code"),
        ("viewer", "export", str(out / "viewer")),
        ("template", "validate", str(out / "no-such.yaml")),
        ("serve", "--port", "1"),
    ]
    found = {" ".join(args): leaks(cli(daemon, env, *args)) for args in runs}
    found["serve (what it printed)"] = leaks(daemon.output())
    assert_no_leaks(found)


# --- the API and the viewer export ---------------------------------------------------------------------------


def test_openapi_and_version_name_the_product(daemon: Daemon, app_id: str) -> None:
    document = daemon.call("GET", "openapi.json", app_id)
    assert document["info"]["title"] == f"{PRODUCT} localhost API"
    assert daemon.call("GET", "Version", app_id)["ProductName"] == PRODUCT
    assert_no_leaks({"GET openapi.json": leaks(json.dumps(document, indent=1))})


def test_the_viewer_export_names_only_the_product(daemon: Daemon, env: dict[str, str], base: Path) -> None:
    target = base / "viewer-export"
    result = run_cli(daemon.home, "viewer", "export", str(target), extra_env=env)
    assert result.returncode == 0, describe(result)
    written = files_under(target)
    assert any(p.endswith("index.html") for p in written)
    assert_no_leaks({path: leaks(text) for path, text in written.items()})


# --- integrations a user can tell apart ----------------------------------------------------------------------


def test_no_two_integrations_share_a_name_in_books_types_or_the_pages(
    daemon: Daemon, app_id: str, env: dict[str, str], base: Path
) -> None:
    listed = cli(daemon, env, "books", "types").splitlines()[1:]
    names = [re.split(r"\s{2,}", line.strip())[1] for line in listed if line.strip()]
    assert "BottleCRM (add-in)" in names and "BottleCRM (template)" in names, names
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    page = logged_in(daemon, app_id, base).get("/ui/integrations")[2].decode()
    offered = [html.unescape(n) for n in re.findall(r"<td><strong>([^<]+)</strong>", page)]
    assert "BottleCRM (add-in)" in offered and "BottleCRM (template)" in offered, offered
    assert len(offered) == len(set(offered)), sorted(n for n in offered if offered.count(n) > 1)
