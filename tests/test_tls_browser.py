"""A real browser trusts the daemon's HTTPS after `partnercrmd tls install`, not after `uninstall` (issue #20).

Debian's Chromium (Playwright) with HOME pointed at a temporary home, so it reads that home's NSS database
(`~/.pki/nssdb`), the one `tls install` writes to with the real `certutil`. No certificate-error flags: the
page loads only because the browser trusts the local authority.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Playwright

from tests.browser_session import CHROMIUM, CHROMIUM_ARGS
from tests.daemon_process import SERVE_ARGS, Daemon, describe, run_cli
from tests.test_tls import free_port


def load_in_chromium(playwright: Playwright, home: Path, url: str) -> str:
    """Open `url` in a fresh headless Chromium whose HOME is `home`; the page's text (PlaywrightError if it fails)."""
    assert not any("certificate" in arg or "insecure" in arg for arg in CHROMIUM_ARGS)
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env={**os.environ, "HOME": str(home)}
    )
    try:
        page = browser.new_page()  # ignore_https_errors stays False
        response = page.goto(url)
        assert response is not None and response.ok, response
        return page.inner_text("body")
    finally:
        browser.close()


def test_chromium_trusts_the_daemon_after_tls_install_and_not_after_uninstall(
    playwright: Playwright, tmp_path: Path
) -> None:
    user_home = tmp_path / "user-home"
    nssdb = user_home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, timeout=30)
    env = {"HOME": str(user_home)}
    home = tmp_path / "home"

    installed = run_cli(home, "tls", "install", extra_env=env)
    assert installed.returncode == 0, describe(installed)
    daemon = Daemon(home, args=(*SERVE_ARGS, "--https-port", str(free_port())), extra_env=env)
    try:
        daemon.start()
        url = f"https://localhost:{daemon.info['https_port']}/api/v1/Version"
        assert '"ProductName"' in load_in_chromium(playwright, user_home, url)

        removed = run_cli(home, "tls", "uninstall", extra_env=env)
        assert removed.returncode == 0, describe(removed)
        with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
            load_in_chromium(playwright, user_home, url)

        reinstalled = run_cli(home, "tls", "install", extra_env=env)
        assert reinstalled.returncode == 0, describe(reinstalled)
        assert '"ProductName"' in load_in_chromium(playwright, user_home, url)
    finally:
        daemon.close()
