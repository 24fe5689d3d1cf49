"""The browser extension's packages: reproducible builds, what they contain, their download pages, the CLI.

The build needs extension/node_modules (`npm ci` in extension/, which scripts/test.sh runs).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd.branding import Branding
from partnercrmd.config import DaemonConfig
from partnercrmd.extension_pages import BROWSERS, PACKAGES, package_path
from partnercrmd.paths import Paths

from .daemon_process import describe, run_cli

Client = TestClient[web.Request, web.Application]
ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "extension"
CORPUS = Path(__file__).parent / "data" / "detection_corpus.json"
EXPECTED_FILES = [
    "_locales/en/messages.json",  # every name the browser shows: a branded daemon serves its own (extension_pages.py)
    "background.js",
    "content.js",
    "manifest.json",
    "options.css",
    "options.html",
    "options.js",
]


def node(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extension-build")
    result = node(str(EXTENSION / "build.mjs"), "--out", str(out))
    assert result.returncode == 0, describe(result)
    return out


@pytest.mark.parametrize("engine", sorted(PACKAGES))
def test_the_committed_packages_are_exactly_what_the_sources_build(rebuilt: Path, engine: str) -> None:
    fresh = (rebuilt / PACKAGES[engine]).read_bytes()
    assert fresh == package_path(engine).read_bytes(), (
        f"{PACKAGES[engine]} is stale: run `node extension/build.mjs` and commit partnercrmd/static/extension/"
    )


def test_building_twice_gives_the_same_bytes(rebuilt: Path, tmp_path: Path) -> None:
    result = node(str(EXTENSION / "build.mjs"), "--out", str(tmp_path))
    assert result.returncode == 0, describe(result)
    for name in PACKAGES.values():
        assert (tmp_path / name).read_bytes() == (rebuilt / name).read_bytes()


def manifest_of(engine: str) -> dict[str, Any]:
    with zipfile.ZipFile(package_path(engine)) as package:
        manifest: dict[str, Any] = json.loads(package.read("manifest.json"))
    return manifest


@pytest.mark.parametrize("engine", sorted(PACKAGES))
def test_packages_hold_sorted_files_with_fixed_dates_and_no_local_paths(engine: str) -> None:
    with zipfile.ZipFile(package_path(engine)) as package:
        infos = package.infolist()
        assert [i.filename for i in infos] == EXPECTED_FILES
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert package.testzip() is None
        text = b"".join(package.read(i) for i in infos)
    for local in (str(ROOT).encode(), b"/root/", b"/home/", b"node_modules", b"sourceMappingURL"):
        assert local not in text


def test_the_extension_builds_page_content_with_dom_apis_only() -> None:
    sources = {path.name: path.read_text(encoding="utf-8") for path in (EXTENSION / "src").glob("*.js")}
    assert "content.js" in sources
    for name, text in sources.items():
        for api in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert api not in text, f"{name} uses {api}"


def test_chromium_and_firefox_manifests() -> None:
    version = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))["version"]
    chromium, firefox = manifest_of("chromium"), manifest_of("firefox")
    for manifest in (chromium, firefox):
        assert manifest["manifest_version"] == 3
        assert manifest["version"] == version
        assert manifest["host_permissions"] == ["http://127.0.0.1/*"]
        assert manifest["content_scripts"][0]["js"] == ["content.js"]
        assert manifest["content_scripts"][0]["all_frames"] is True
        assert manifest["options_ui"]["page"] == "options.html"
        assert "externally_connectable" not in manifest  # web pages cannot message the extension
    assert chromium["background"] == {"service_worker": "background.js"}
    assert firefox["background"] == {"scripts": ["background.js"]}
    assert firefox["browser_specific_settings"]["gecko"]["id"]


def test_the_extension_finds_the_numbers_the_daemon_finds_with_few_false_ones() -> None:
    """The detection corpus of the daemon's detector, through the extension's (a smaller port of its rules)."""
    snippets = json.loads(CORPUS.read_text(encoding="utf-8"))["snippets"]
    result = node(str(Path(__file__).parent / "data" / "extension_detect.mjs"), stdin=json.dumps(snippets))
    assert result.returncode == 0, describe(result)
    answers = json.loads(result.stdout)
    right = wrong = missed = 0
    false_ones = []
    for snippet, found in zip(snippets, answers, strict=True):
        got = {n["e164"] for n in found}
        expected = {e.split(";")[0] for e in snippet["expected"]}
        right += len(got & expected)
        wrong += len(got - expected)
        missed += len(expected - got)
        false_ones += [(snippet["id"], n) for n in sorted(got - expected)]
    precision, recall = right / (right + wrong), right / (right + missed)
    assert precision >= 0.95, (precision, false_ones)
    assert recall >= 0.88, recall
    negatives = [s for s, a in zip(snippets, answers, strict=True) if s["id"].startswith("neg-")]
    assert len(negatives) >= 10
    assert sum(1 for s in negatives for _ in answers[snippets.index(s)]) <= 4, false_ones


# --- downloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", sorted(PACKAGES))
async def test_the_daemon_serves_the_packages(partnercrmd_client: Client, engine: str) -> None:
    response = await partnercrmd_client.get(f"/extension/{PACKAGES[engine]}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert PACKAGES[engine] in response.headers["Content-Disposition"]
    assert await response.read() == package_path(engine).read_bytes()
    download = await partnercrmd_client.get(f"/extension/download/{engine}")  # what the install page links to
    assert download.status == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="partnercrmd-{engine}.zip"'
    assert await download.read() == package_path(engine).read_bytes()


class TestBranded:
    @pytest.fixture
    def partnercrmd_config(self, partnercrmd_config: DaemonConfig, tmp_path: Path) -> DaemonConfig:
        partnercrmd_config.branding = Branding(product_name="Acme Connect", source=tmp_path / "branding.toml")
        return partnercrmd_config

    async def test_a_branded_build_downloads_and_explains_under_its_own_name(self, partnercrmd_client: Client) -> None:
        download = await partnercrmd_client.get("/extension/download/chromium")
        assert download.headers["Content-Disposition"] == 'attachment; filename="acme-connect-chromium.zip"'
        for path in ("/extension/", *(f"/extension/install/{b}" for b in BROWSERS)):
            page = await (await partnercrmd_client.get(path)).text()
            assert "Acme Connect" in page
            assert "partnercrmd" not in page.lower(), path


@pytest.mark.parametrize("browser", sorted(BROWSERS))
async def test_each_browser_has_install_instructions(partnercrmd_client: Client, browser: str) -> None:
    response = await partnercrmd_client.get(f"/extension/install/{browser}")
    assert response.status == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    page = await response.text()
    _, engine, manage = BROWSERS[browser]
    assert f'href="/extension/download/{engine}"' in page
    assert manage in page
    assert "partnercrmd extension pair" in page


async def test_the_download_index_and_unknown_names(partnercrmd_client: Client) -> None:
    index = await partnercrmd_client.get("/extension/")
    assert index.status == 200
    for browser in BROWSERS:
        assert f"/extension/install/{browser}" in await index.text()
    for path in ("/extension/install/safari", "/extension/partnercrmd-safari.zip", "/extension/..%2Fsetup.cfg"):
        response = await partnercrmd_client.get(path)
        assert response.status == 404, path


# --- CLI -------------------------------------------------------------------------------------------------


async def test_a_code_from_the_cli_pairs_with_the_running_daemon(
    partnercrmd_client: Client, partnercrmd_home: Paths
) -> None:
    result = run_cli(partnercrmd_home.config_dir, "extension", "pair")
    assert result.returncode == 0, describe(result)
    code = result.stdout.splitlines()[0]
    assert "within 5 minutes" in result.stdout
    response = await partnercrmd_client.post(
        "/api/v1/PairExtension", data={"Code": code}, headers={"Origin": "moz-extension://1234-abcd"}
    )
    assert response.status == 200, await response.text()
    listed = run_cli(partnercrmd_home.config_dir, "extension", "list")
    assert "moz-extension://1234-abcd" in listed.stdout
    assert "paired" in listed.stdout


def test_cli_lists_nothing_paired_and_the_packages(tmp_path: Path) -> None:
    listed = run_cli(tmp_path / "home", "extension", "list")
    assert listed.returncode == 0, describe(listed)
    assert listed.stdout.strip() == "No browser extension is paired."
    packages = run_cli(tmp_path / "home", "extension", "packages")
    assert packages.returncode == 0, describe(packages)
    for engine in PACKAGES:
        assert f"{engine}: {package_path(engine)}" in packages.stdout
