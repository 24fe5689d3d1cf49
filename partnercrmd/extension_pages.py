"""Download pages of the browser extension: the packages and install instructions for each browser.

The configuration UI links here ("Dialling helpers → Browser extension →
Download"): `/extension/` lists the browsers, `/extension/install/<browser>`
explains the install, `/extension/download/<engine>` downloads the package built
from extension/ under the product's name (`/extension/<package>.zip`, its file name
in the Python package, stays for scripts) (docs/browser-extension.md).
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

from aiohttp import web

from . import appkeys
from .branded_text import brand
from .branding import Branding
from .errors import NotFound
from .page_templates import render_template

PACKAGE_DIR = Path(__file__).parent / "static" / "extension"
PACKAGES = {"chromium": "partnercrmd-chromium.zip", "firefox": "partnercrmd-firefox.zip"}
"""Package for each engine: Chrome, Edge and Opera take the same Manifest V3 package."""
BROWSERS = {
    "chrome": ("Google Chrome", "chromium", "chrome://extensions"),
    "edge": ("Microsoft Edge", "chromium", "edge://extensions"),
    "opera": ("Opera", "chromium", "opera://extensions"),
    "firefox": ("Mozilla Firefox", "firefox", "about:debugging#/runtime/this-firefox"),
}
"""browser → (name, package, the page where extensions are managed)."""
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def package_path(engine: str) -> Path:
    return PACKAGE_DIR / PACKAGES[engine]


MESSAGES = "_locales/en/messages.json"
"""The one file of a package that names the product: its manifest, pages and messages take every name from it."""


def package_bytes(engine: str, branding: Branding) -> bytes:
    """The package for `engine` as this product ships it: built as is, or with the product's name in MESSAGES.

    Blocking (reads and writes a zip): call it off the event loop. The entries keep their order, dates and
    modes, so the same branding always gives the same bytes.
    """
    built = package_path(engine).read_bytes()
    if not branding.branded:
        return built
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(built)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == MESSAGES:
                messages = json.loads(data)
                for entry in messages.values():
                    entry["message"] = brand(branding, entry["message"])
                data = (json.dumps(messages, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def write_packages(branding: Branding, folder: Path) -> list[Path]:
    """Write this product's packages into `folder` (`<product>-<engine>.zip`); their paths. Blocking."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for engine in PACKAGES:
        target = folder / f"{branding.slug}-{engine}.zip"
        target.write_bytes(package_bytes(engine, branding))
        written.append(target)
    return written


async def extension_index(request: web.Request) -> web.StreamResponse:
    return await _render(request, None)


async def extension_install(request: web.Request) -> web.StreamResponse:
    browser = request.match_info["browser"]
    if browser not in BROWSERS:
        raise NotFound(f"There are instructions for {', '.join(BROWSERS)}; not for '{browser[:40]}'.")
    return await _render(request, browser)


async def _render(request: web.Request, browser: str | None) -> web.StreamResponse:
    context = {
        "browsers": BROWSERS,
        "packages": PACKAGES,
        "browser": browser,
        "branding": request.app[appkeys.CONFIG].branding,
        "product": request.app[appkeys.CONFIG].branding.product_name,
        "port": request.app[appkeys.CONFIG].port,
    }
    response = render_template("extension_install.html", request, context)
    response.headers.update(PAGE_HEADERS)
    return response


async def extension_package(request: web.Request) -> web.StreamResponse:
    name = request.match_info["package"]
    engine = next((e for e, file in PACKAGES.items() if file == name), None)
    if engine is None:
        raise NotFound(f"There is no extension package '{name[:60]}'.")
    return await _package_response(request, engine, name)


async def extension_download(request: web.Request) -> web.StreamResponse:
    """The package for an engine, saved under the product's own name (a branded build shows no other)."""
    engine = request.match_info["engine"]
    if engine not in PACKAGES:
        raise NotFound(f"There are packages for {', '.join(PACKAGES)}; not for '{engine[:40]}'.")
    return await _package_response(request, engine, f"{request.app[appkeys.CONFIG].branding.slug}-{engine}.zip")


async def _package_response(request: web.Request, engine: str, file_name: str) -> web.StreamResponse:
    """The package as this product ships it (every route that serves one comes here)."""
    if not package_path(engine).is_file():
        raise NotFound(f"The {engine} extension package is not installed.")
    body = await asyncio.to_thread(package_bytes, engine, request.app[appkeys.CONFIG].branding)
    return web.Response(
        body=body,
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{file_name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def add_extension_routes(app: web.Application) -> None:
    app.router.add_get("/extension/", extension_index)
    app.router.add_get("/extension/install/{browser}", extension_install)
    app.router.add_get("/extension/download/{engine}", extension_download)
    app.router.add_get("/extension/{package:partnercrmd-[a-z]+\\.zip}", extension_package)
