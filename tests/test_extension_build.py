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
from partnercrmd.dialling.detect import find_numbers
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


MIN_PRECISION = 0.99  # the daemon's own bar (tests/test_detect.py), for both finders
MIN_RECALL = 0.98


def corpus_score(answers: list[set[str]], snippets: list[dict[str, Any]]) -> tuple[float, float, list[str]]:
    """Precision, recall and the snippets not found exactly: numbers written as the corpus does (E.164;ext=…)."""
    right = wrong = missed = 0
    misses = []
    for snippet, found in zip(snippets, answers, strict=True):
        expected = set(snippet["expected"])
        right += len(found & expected)
        wrong += len(found - expected)
        missed += len(expected - found)
        if found != expected:
            misses.append(f"{snippet['id']}: expected {sorted(expected)}, found {sorted(found)}")
    return right / max(1, right + wrong), right / max(1, right + missed), misses


def extension_answers(snippets: list[dict[str, Any]]) -> list[set[str]]:
    """The extension's finder (extension/src/detect.js, in Node) on each snippet."""
    result = node(str(Path(__file__).parent / "data" / "extension_detect.mjs"), stdin=json.dumps(snippets))
    assert result.returncode == 0, describe(result)
    return [
        {n["e164"] + (f";ext={n['extension']}" if n["extension"] else "") for n in found}
        for found in json.loads(result.stdout)
    ]


def daemon_answers(snippets: list[dict[str, Any]]) -> list[set[str]]:
    """The daemon's detector (partnercrmd.dialling.detect) on each snippet."""
    return [
        {n.e164 + (f";ext={n.extension}" if n.extension else "") for n in find_numbers(s["text"], s["region"])}
        for s in snippets
    ]


@pytest.mark.parametrize("finder", ["daemon", "extension"])
def test_both_number_finders_reach_the_same_precision_and_recall_on_one_corpus(finder: str) -> None:
    """The daemon's detection corpus, through the daemon's detector and the extension's finder alike."""
    snippets = json.loads(CORPUS.read_text(encoding="utf-8"))["snippets"]
    answers = daemon_answers(snippets) if finder == "daemon" else extension_answers(snippets)
    precision, recall, misses = corpus_score(answers, snippets)
    report = f"{finder}: precision {precision:.4f}, recall {recall:.4f}\n" + "\n".join(misses)
    assert precision >= MIN_PRECISION, report
    assert recall >= MIN_RECALL, report
    negatives = [found for s, found in zip(snippets, answers, strict=True) if s["id"].startswith("neg-")]
    assert len(negatives) >= 10
    assert sum(len(found) for found in negatives) <= 1, report


def test_the_extension_finder_agrees_with_the_daemon_on_almost_every_snippet() -> None:
    """Not only the totals: the two finders give the same answer on at least 98 % of the snippets."""
    snippets = json.loads(CORPUS.read_text(encoding="utf-8"))["snippets"]
    pairs = zip(snippets, daemon_answers(snippets), extension_answers(snippets), strict=True)
    differ = [f"{s['id']}: daemon {sorted(d)}, extension {sorted(e)}" for s, d, e in pairs if d != e]
    assert len(differ) <= len(snippets) * 0.02, "\n".join(differ)


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
