"""Download pages of the browser extension: the packages and install instructions for each browser.

The configuration UI links here ("Dialling helpers → Browser extension →
Download"): `/extension/` lists the browsers, `/extension/install/<browser>`
explains the install, `/extension/download/<engine>` downloads the package built
from extension/ under the product's name (`/extension/<package>.zip`, its file name
in the Python package, stays for scripts) (docs/browser-extension.md).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
from aiohttp import web

from . import appkeys
from .errors import NotFound

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
    response = aiohttp_jinja2.render_template("extension_install.html", request, context)
    response.headers.update(PAGE_HEADERS)
    return response


async def extension_package(request: web.Request) -> web.StreamResponse:
    name = request.match_info["package"]
    engine = next((e for e, file in PACKAGES.items() if file == name), None)
    if engine is None:
        raise NotFound(f"There is no extension package '{name[:60]}'.")
    return _package_response(engine, name)


async def extension_download(request: web.Request) -> web.StreamResponse:
    """The package for an engine, saved under the product's own name (a branded build shows no other)."""
    engine = request.match_info["engine"]
    if engine not in PACKAGES:
        raise NotFound(f"There are packages for {', '.join(PACKAGES)}; not for '{engine[:40]}'.")
    return _package_response(engine, f"{request.app[appkeys.CONFIG].branding.slug}-{engine}.zip")


def _package_response(engine: str, file_name: str) -> web.StreamResponse:
    if not package_path(engine).is_file():
        raise NotFound(f"The {engine} extension package is not installed.")
    return web.FileResponse(
        package_path(engine),
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
