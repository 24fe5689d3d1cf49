"""The API explorer page over HTTP: a session first, its own approved application, files served by the daemon.

The browser half (Swagger UI's "Try it out" in Chromium, every request to the daemon) is
tests/test_api_explorer_browser.py; the build (the committed files are what the pinned npm package gives) is here.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from partnercrmd import appkeys
from partnercrmd.client_apps import AppStatus
from partnercrmd.pages import WINDOWS
from partnercrmd.ui.explorer import VAULT_KEY
from tests.daemon_process import describe
from tests.ui_support import Client, csrf_of, log_in, page_text

ROOT = Path(__file__).resolve().parent.parent
EXPLORER = ROOT / "explorer"
STATIC = ROOT / "partnercrmd" / "static" / "explorer"


def application_id_of(html: str) -> str:
    match = re.search(r'data-application-id="([^"]+)"', html)
    assert match, "the explorer page names no application"
    return match.group(1)


async def test_the_explorer_needs_a_session(partnercrmd_client: Client) -> None:
    response = await partnercrmd_client.get("/ui/api")
    assert response.status == 403
    text = await response.text()
    assert "data-application-id" not in text
    assert not partnercrmd_client.app[appkeys.APPS].apps, "no application may be made without a session"


async def test_the_explorer_calls_as_its_own_registered_approved_application(partnercrmd_client: Client) -> None:
    app = partnercrmd_client.app
    await log_in(partnercrmd_client, "api")
    html = await page_text(partnercrmd_client, "/ui/api")
    app_id = application_id_of(html)
    record = app[appkeys.APPS].apps[app_id]
    assert record.status is AppStatus.APPROVED
    assert record.name == "partnercrmd API explorer"
    assert app[appkeys.INSTALL_TOKEN].value not in html
    # The id is the explorer's for good: a second visit shows the same one, and it works on the API.
    assert application_id_of(await page_text(partnercrmd_client, "/ui/api")) == app_id
    search = {"query": "Alice"}
    response = await partnercrmd_client.post("/api/v1/Search", data=search, headers={"ApplicationId": app_id})
    assert response.status == 200, await response.text()
    # A guessable id would be a credential anyone could use: it is random.
    assert re.fullmatch(r"api-explorer-[A-Za-z0-9_-]{24}", app_id)
    doc = app[appkeys.VAULT].read()
    assert doc[VAULT_KEY]["app_id"] == app_id


async def test_a_revoked_explorer_is_approved_again_when_the_user_opens_it(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    app_id = application_id_of(await page_text(partnercrmd_client, "/ui/api"))
    token = csrf_of(await page_text(partnercrmd_client, "/ui/applications"))
    revoked = await partnercrmd_client.post(
        "/ui/applications", data={"csrf": token, "app_id": app_id, "decision": "revoke"}, allow_redirects=False
    )
    assert revoked.status == 303
    assert not partnercrmd_client.app[appkeys.APPS].is_approved(app_id)
    assert application_id_of(await page_text(partnercrmd_client, "/ui/api")) == app_id
    assert partnercrmd_client.app[appkeys.APPS].is_approved(app_id)


async def test_the_explorer_page_is_in_the_navigation_and_a_show_window_page(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    html = await page_text(partnercrmd_client, "/ui/about")
    assert '<a href="/ui/api">API explorer</a>' in html
    assert "api" in WINDOWS


async def test_the_explorer_loads_only_the_daemons_files_under_a_strict_policy(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    response = await partnercrmd_client.get("/ui/api")
    html = await response.text()
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "<script>" not in html and "style=" not in html  # no inline script or style for the policy to refuse
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for source in sources:
        if source.startswith("/static/explorer/"):
            served = await partnercrmd_client.get(source)
            assert served.status == 200, source
            assert await served.read() == (STATIC / source.rsplit("/", 1)[1]).read_bytes()


def test_the_committed_explorer_files_are_what_the_pinned_swagger_ui_builds(tmp_path: Path) -> None:
    result = subprocess.run(
        ["node", str(EXPLORER / "build.mjs"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, describe(result)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in STATIC.iterdir())
    for name in built:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"static/explorer/{name} is stale: run `node explorer/build.mjs` and commit partnercrmd/static/explorer/"
        )
    assert "sourceMappingURL" not in (STATIC / "swagger-ui.css").read_text(encoding="utf-8")
