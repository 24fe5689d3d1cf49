"""First run and the pages from a terminal (issue #17 items 3, 4), black-box: real `partnercrmd serve` processes.

`serve` says where it listens, how to open the pages and where the install token is; `partnercrmd token`
prints the token; `partnercrmd ui [PAGE]` gets a one-time address from the daemon, opens it and prints it;
`/` leads to the pages; `ShowWindow` answers the address whether or not a browser opened (the "browser" is a
script named by BROWSER that records the address and exits with the code the test chooses).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.daemon_process import Daemon, describe, error_line, http, in_background, run_cli, wait_until
from tests.recording_browser import RecordingBrowser


@pytest.fixture(scope="module")
def browser_script(tmp_path_factory: pytest.TempPathFactory) -> RecordingBrowser:
    return RecordingBrowser.create(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, browser_script: RecordingBrowser) -> Iterator[Daemon]:
    instance = Daemon(tmp_path_factory.mktemp("first-run") / "home", extra_env={"BROWSER": str(browser_script.script)})
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    return daemon.register_trusted("First-run test")


def log_in(url: str) -> tuple[int, str]:
    """Follow a one-time login address as a browser does (keeping the session cookie): final status and page."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(CookieJar())
    )
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode("utf-8")


def test_serve_tells_a_newcomer_where_it_listens_how_to_open_the_pages_and_where_the_token_is(daemon: Daemon) -> None:
    text = wait_until(lambda: daemon.output() if "Stop it with Ctrl+C." in daemon.output() else "", 10, what="text")
    assert "partnercrmd 0.1.0 is running." in text
    assert f"API:            http://127.0.0.1:{daemon.port}/api/v1/" in text
    assert "run `partnercrmd ui`" in text and "`partnercrmd ui --print`" in text
    assert "`partnercrmd token` prints it" in text and str(daemon.discovery_file) in text
    assert str(daemon.log_file.parent) in text


def test_token_prints_the_install_token_with_the_daemon_running_or_not(daemon: Daemon, tmp_path: Path) -> None:
    printed = run_cli(daemon.home, "token")
    assert (printed.returncode, printed.stdout) == (0, daemon.token + "\n"), describe(printed)

    stopped = Daemon(tmp_path / "home")
    stopped.start()
    token = stopped.token
    stopped.stop()
    printed = run_cli(stopped.home, "token")
    assert (printed.returncode, printed.stdout) == (0, token + "\n"), describe(printed)  # the vault keeps it

    fresh = run_cli(tmp_path / "never-started", "token")
    assert fresh.returncode == 2 and fresh.stdout == ""
    assert "There is no install token yet" in error_line(fresh) and "partnercrmd serve" in error_line(fresh)


def test_token_waits_for_a_daemon_that_is_starting(tmp_path: Path) -> None:
    starting = Daemon(tmp_path / "home")
    printed = in_background(run_cli, starting.home, "token", "--wait", "30")
    try:
        starting.start()
        result = printed.result(timeout=40)
        assert (result.returncode, result.stdout) == (0, starting.token + "\n"), describe(result)
    finally:
        starting.close()


def test_ui_print_gives_a_one_time_address_of_the_page_that_logs_in_once(daemon: Daemon) -> None:
    printed = run_cli(daemon.home, "ui", "about", "--print")
    assert printed.returncode == 0, describe(printed)
    url = printed.stdout.strip()
    assert url.startswith(f"http://127.0.0.1:{daemon.port}/ui/login/") and url.endswith("?window=about")
    assert "works once" in printed.stderr
    status, page = log_in(url)
    assert status == 200 and "<h1>About" in page, page[:300]
    assert log_in(url)[0] == 403  # used already


def test_ui_opens_the_browser_of_its_own_session_and_prints_the_address(
    daemon: Daemon, browser_script: RecordingBrowser
) -> None:
    before = len(browser_script.urls())
    opened = run_cli(daemon.home, "ui", "dialling", extra_env={"BROWSER": str(browser_script.script)})
    assert opened.returncode == 0, describe(opened)
    (url,) = browser_script.urls()[before:]
    assert opened.stdout == f"Opened in your web browser: {url}\n"
    assert log_in(url)[0] == 200

    browser_script.exit_code = 1
    try:
        failed = run_cli(daemon.home, "ui", extra_env={"BROWSER": str(browser_script.script)})
    finally:
        browser_script.exit_code = 0
    assert failed.returncode == 0, describe(failed)
    assert failed.stdout.startswith("No web browser could be opened here; open this address in one")
    url = failed.stdout.strip().splitlines()[-1]
    assert url.endswith("?window=configuration") and log_in(url)[0] == 200


def test_ui_says_clearly_what_is_wrong(daemon: Daemon, tmp_path: Path) -> None:
    unknown = run_cli(daemon.home, "ui", "nosuchpage", "--print")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "'window' must be one of: configuration" in error_line(unknown), describe(unknown)
    stopped = run_cli(tmp_path / "no-daemon", "ui", "--print")
    assert (
        stopped.returncode == 2
        and "is not running" in error_line(stopped)
        and "partnercrmd serve" in error_line(stopped)
    )


def test_the_bare_address_leads_to_the_pages_which_say_how_to_open_them(daemon: Daemon) -> None:
    root = http("GET", f"http://127.0.0.1:{daemon.port}/")  # urllib follows the redirect, without a session
    assert root.status == 403, root
    assert "run `partnercrmd ui` in a terminal" in root.body.decode("utf-8").replace("&#96;", "`")
    raw = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as answer:
        raw.open(f"http://127.0.0.1:{daemon.port}/", timeout=10)
    with answer.value:
        assert (answer.value.code, answer.value.headers["Location"]) == (303, "/ui/configuration")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_show_window_answers_the_address_whether_or_not_a_browser_opened(
    daemon: Daemon, app_id: str, browser_script: RecordingBrowser
) -> None:
    before = len(browser_script.urls())
    opened = daemon.call("POST", "ShowWindow", app_id, window="about")
    assert opened["Opened"] is True and opened["ExpiresInSeconds"] == 120
    assert browser_script.urls()[before:] == [opened["Url"]]

    browser_script.exit_code = 1  # no browser can be opened
    try:
        reply = daemon.request("POST", "ShowWindow", {"window": "integrations"}, app_id=app_id)
        assert reply.status == 200, reply
        answer = reply.json()
        assert answer["Opened"] is False and answer["Url"].endswith("?window=integrations")
        status, page = log_in(answer["Url"])  # usable in the client's own web view
        assert status == 200 and "Integrations" in page

        refused = daemon.request("POST", "ShowWindow", {"window": "about", "CanShowUrl": "false"}, app_id=app_id)
        assert refused.status == 503, refused
        assert refused.json()["Code"] == "no_browser" and "No web browser could be opened" in refused.json()["Message"]
    finally:
        browser_script.exit_code = 0

    before = len(browser_script.urls())
    own_view = daemon.call("POST", "ShowWindow", app_id, window="about", OpenBrowser="false")
    assert own_view["Opened"] is False and browser_script.urls()[before:] == []
    assert log_in(own_view["Url"])[0] == 200
    neither = daemon.request(
        "POST", "ShowWindow", {"window": "about", "OpenBrowser": "false", "CanShowUrl": "false"}, app_id=app_id
    )
    assert neither.status == 400 and "Nothing would show the window" in neither.json()["Message"]
