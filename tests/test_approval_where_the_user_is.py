"""Approval where the user is: a waiting `Register` asks on the desktop (Allow / Deny) and on every configuration page.

The desktop half runs a real `partnercrmd serve` under Xvfb with its own D-Bus session bus and Debian's dunst as
the notification service. dunst's context menu (`dunstctl context`) lists the actions of the notifications on
screen through its `dmenu` command, here a script that records the menu and picks the line of the wanted
action, so dunst itself invokes it (ActionInvoked on the bus), as a click would. The banner: one click in
Chromium here, every page over HTTP in tests/test_approval_banner.py. Without a notification service the CLI
(and the banner) still decide.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.daemon_process import Daemon, Reply, describe, in_background, run_cli, wait_until
from tests.desktop_session import Desktop
from tests.notification_desktop import MENU_LINE, Dunst, SessionBus
from tests.recording_browser import RecordingBrowser

PRODUCT = "Acme Connect"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("dunst", "dunstctl", "dbus-daemon"):
        assert shutil.which(tool), f"{tool} is not installed: run the README's test command (it installs it)"
    return tmp_path_factory.mktemp("approval")


@pytest.fixture(scope="module")
def bus(base: Path, desktop: Desktop) -> Iterator[SessionBus]:
    session = SessionBus(base, desktop)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="module")
def dunst(bus: SessionBus) -> Iterator[Dunst]:
    service = Dunst(bus)
    try:
        yield service
    finally:
        service.close()


def branded_daemon(home: Path, env: dict[str, str]) -> Daemon:
    """A real daemon of the "Acme Connect" product whose "browser" writes the links it opens to a file."""
    branding = home.parent / f"{home.name}-branding.toml"
    branding.write_text(f'[product]\nname = "{PRODUCT}"\n', encoding="utf-8")
    recorder = RecordingBrowser.create(browser_folder(home))
    return Daemon(home, extra_env={**env, "PARTNERCRMD_BRANDING": str(branding), **recorder.env})


def browser_folder(home: Path) -> Path:
    """Where the "browser" of the daemon at `home` lives (beside the home: one each)."""
    folder = home.parent / f"{home.name}-browser"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def daemon(base: Path, bus: SessionBus, dunst: Dunst) -> Iterator[Daemon]:
    instance = branded_daemon(base / "acme-home", bus.env)
    try:
        yield instance.start()
    finally:
        instance.close()


def waiting_register(daemon: Daemon, app_id: str, name: str) -> Future[Reply]:
    """A Register without the install token, waiting for the user in a thread; its answer in the future."""
    return in_background(daemon.register, app_id, name, token="")


def status_of(daemon: Daemon, app_id: str) -> str:
    listed = run_cli(daemon.home, "apps", "list")
    assert listed.returncode == 0, describe(listed)
    row = next((line for line in listed.stdout.splitlines() if f" {app_id} " in f" {line} "), "")
    return next((s for s in ("pending", "approved", "revoked") if f" {s} " in f" {row} "), "")


# --- the desktop notification -------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "status", "code"), [("Allow", 204, ""), ("Deny", 403, "approval_denied")])
def test_a_waiting_register_shows_one_notification_whose_action_decides(
    daemon: Daemon, dunst: Dunst, label: str, status: int, code: str
) -> None:
    app_id = f"softphone-{label.lower()}"
    name = f"Softphone {label}"
    first = waiting_register(daemon, app_id, name)
    wait_until(lambda: dunst.displayed() == 1, timeout=10, what="the notification on screen")
    again = waiting_register(daemon, app_id, name)  # the client asks again while the question is on screen
    wait_until(lambda: status_of(daemon, app_id) == "pending", timeout=10, what="the registration waiting")
    time.sleep(1.0)
    assert dunst.displayed() == 1
    assert not first.done() and not again.done()

    # dunst's menu: a line per action of each notification on screen, "#<label> (<summary>) [<id>,<key>]".
    menu = [MENU_LINE.fullmatch(line) for line in dunst.choose(label)]
    assert all(menu), menu
    assert {(m[2], m[3]) for m in menu if m} == {(f"{name} wants to use {PRODUCT}", menu[0][3] if menu[0] else "")}
    assert [(m[1], m[4]) for m in menu if m and m[1]] == [("Allow", "allow"), ("Deny", "deny")]

    for reply in (first.result(timeout=10), again.result(timeout=10)):
        assert reply.status == status, reply
        if code:
            assert reply.json()["Code"] == code
    assert status_of(daemon, app_id) == ("approved" if status == 204 else "revoked")
    wait_until(lambda: dunst.displayed() == 0, timeout=10, what="the notification gone")


def test_a_decision_made_elsewhere_takes_the_notification_off_the_screen(daemon: Daemon, dunst: Dunst) -> None:
    waiting = waiting_register(daemon, "softphone-cli", "Softphone CLI")
    wait_until(lambda: dunst.displayed() == 1, timeout=10, what="the notification on screen")
    approved = run_cli(daemon.home, "apps", "approve", "softphone-cli")
    assert approved.returncode == 0, describe(approved)
    assert waiting.result(timeout=10).status == 204
    wait_until(lambda: dunst.displayed() == 0, timeout=10, what="the answered notification withdrawn")


def test_the_banner_allow_clicked_in_chromium_answers_the_waiting_register(
    daemon: Daemon, dunst: Dunst, browser: Browser
) -> None:
    softphone = daemon.register_trusted("Acme softphone")
    link = RecordingBrowser.in_folder(browser_folder(daemon.home)).login_link(daemon, softphone, "integrations")
    waiting = waiting_register(daemon, "web-crm", "Web CRM")
    wait_until(lambda: dunst.displayed() == 1, timeout=10, what="the notification on screen")

    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    banner = page.locator(".approval-banner")
    expect(banner).to_contain_text(f"Web CRM wants to use {PRODUCT}")
    if os.environ.get("PARTNERCRMD_SCREENSHOTS"):  # how a screenshot for the docs is made
        page.screenshot(path=str(Path(os.environ["PARTNERCRMD_SCREENSHOTS"]) / "approval-banner.png"))
    banner.get_by_role("button", name="Allow Web CRM").click()
    expect(page.get_by_role("status")).to_have_text("Approved.")
    expect(page.locator(".approval-banner")).to_have_count(0)
    context.close()
    assert waiting.result(timeout=10).status == 204
    wait_until(lambda: dunst.displayed() == 0, timeout=10, what="the answered notification withdrawn")


def test_a_notification_closed_without_an_answer_asks_again_on_the_next_register(daemon: Daemon, dunst: Dunst) -> None:
    waiting = waiting_register(daemon, "softphone-later", "Softphone later")
    wait_until(lambda: dunst.displayed() == 1, timeout=10, what="the notification on screen")
    dunst.ctl("close")  # the user closes it without choosing: nothing is decided
    wait_until(lambda: dunst.displayed() == 0, timeout=10, what="the notification closed")
    assert status_of(daemon, "softphone-later") == "pending"
    again = waiting_register(daemon, "softphone-later", "Softphone later")
    wait_until(lambda: dunst.displayed() == 1, timeout=10, what="the question asked again")
    dunst.choose("Allow")
    assert waiting.result(timeout=10).status == 204
    assert again.result(timeout=10).status == 204


# --- no notification service ---------------------------------------------------------------------------------


@pytest.mark.parametrize("session", ["a bus without a notification service", "no D-Bus session at all"])
def test_without_a_notification_service_the_cli_still_decides(
    base: Path, desktop: Desktop, session: str, tmp_path: Path
) -> None:
    folder = tmp_path / "bus"
    folder.mkdir()
    bus = SessionBus(folder, desktop) if session.startswith("a bus") else None
    env = bus.env if bus else {"DBUS_SESSION_BUS_ADDRESS": "", "DISPLAY": desktop.display}
    daemon = branded_daemon(tmp_path / "home", env)
    try:
        daemon.start()
        waiting = waiting_register(daemon, "softphone-quiet", "Quiet softphone")
        wait_until(lambda: status_of(daemon, "softphone-quiet") == "pending", timeout=10, what="the registration")
        wait_until(lambda: "desktop notifications cannot ask here" in daemon.output(), timeout=10, what="the log")
        approved = run_cli(daemon.home, "apps", "approve", "softphone-quiet")
        assert approved.returncode == 0, describe(approved)
        assert waiting.result(timeout=10).status == 204
        assert daemon.running()
    finally:
        daemon.close()
        if bus:
            bus.close()
