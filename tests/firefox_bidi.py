"""Debian's Firefox ESR driven over WebDriver BiDi, for the browser-extension tests.

Why no Selenium or puppeteer: Debian has no geckodriver, Selenium Manager
downloads it from outside the package registries (which cannot work here),
and puppeteer-core would put a Node process between the Python tests and the
browser. Firefox speaks WebDriver BiDi itself (`--remote-debugging-port`),
so the tests talk to it directly over a WebSocket (aiohttp, already a
dependency) with the handful of commands they need: session.new,
webExtension.install (a temporary add-on), browsingContext.*, script.*
and input.performActions (clicks the page sees as the user's).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"
COMMAND_TIMEOUT = 30.0
_LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")

# BiDi on a free port; system access lets the tests open the extension's own pages (moz-extension://), which
# Firefox refuses to navigate to otherwise ("not allowed in this context").
REMOTE_ARGS = ["--remote-debugging-port", "0", "--remote-allow-system-access"]

# Prefs that keep Firefox from reaching out to Mozilla's hosts and from showing first-run pages.
PREFS = {
    "app.update.enabled": False,
    "app.normandy.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/",
    "network.proxy.allow_hijacking_localhost": False,
}


class BiDiError(AssertionError):
    """A command Firefox answered with an error."""


class FirefoxBiDi:
    """One headless Firefox ESR process with a BiDi session; `command()` sends one command and waits for its answer.

    The WebSocket lives on an asyncio loop in a thread of its own, so the (sync) tests can call it like Playwright's
    sync API. `extension_uuids` fixes the moz-extension:// host of add-ons by id (Firefox otherwise picks one).
    """

    def __init__(self, profile: Path, extension_uuids: dict[str, str] | None = None) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        prefs = dict(PREFS)
        if extension_uuids:
            prefs["extensions.webextensions.uuids"] = json.dumps(extension_uuids)
        (profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()), encoding="utf-8"
        )
        env = {**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"}
        self.process = subprocess.Popen(
            [
                FIREFOX,
                "--headless",
                "--no-remote",
                "--profile",
                str(profile),
                "--remote-debugging-port",
                "0",
                "--remote-allow-system-access",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.url = self._wait_for_address()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._loop = asyncio.new_event_loop()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._receiver: asyncio.Future[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="firefox-bidi", daemon=True)
        self._thread.start()
        self._run(self._connect())
        self.command("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}})

    def _wait_for_address(self) -> str:
        assert self.process.stderr is not None
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            seen.append(line)
            found = _LISTENING.search(line)
            if found:
                self._drainer = threading.Thread(target=self._drain, name="firefox-stderr", daemon=True)
                self._drainer.start()
                return found.group(1).rstrip("/") + "/session"
        self.process.kill()
        raise AssertionError("Firefox did not start its WebDriver BiDi server:\n" + "".join(seen[-30:]))

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass  # Firefox's console chatter: read so the pipe never fills

    def _run(self, coroutine: Any, timeout: float = COMMAND_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _connect(self) -> None:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.url, max_msg_size=0)
        self._receiver = asyncio.ensure_future(self._receive())

    async def _receive(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BiDiError("Firefox closed the BiDi connection"))

    async def _send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self._ws is not None
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._pending[command_id] = future
        await self._ws.send_str(json.dumps({"id": command_id, "method": method, "params": params}))
        return await future

    def command(self, method: str, params: dict[str, Any], timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        """Send one BiDi command; its result, or BiDiError with Firefox's message."""
        answer: dict[str, Any] = self._run(self._send(method, params), timeout)
        if answer.get("type") == "error":
            raise BiDiError(f"{method}: {answer.get('error')}: {answer.get('message')}")
        result: dict[str, Any] = answer["result"]
        return result

    def close(self) -> None:
        """End the session and the browser."""
        with contextlib.suppress(Exception):  # the browser may already be gone; it is killed below either way
            self.command("browser.close", {}, timeout=10)
        if self._ws is not None:
            self._run(self._ws.close(), 10)
        if self._session is not None:
            self._run(self._session.close(), 10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._loop.close()
        self._drainer.join(timeout=10)  # the pipe ends with the process
        if self.process.stderr is not None:
            self.process.stderr.close()


def deserialise(value: dict[str, Any]) -> Any:
    """A BiDi remote value as Python (primitives, arrays and plain objects; anything else as its type name)."""
    kind = value["type"]
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return value["value"]
    if kind == "number":
        number = value["value"]
        return float("nan") if number == "NaN" else number
    if kind == "array":
        return [deserialise(item) for item in value.get("value", [])]
    if kind == "object":
        return {key: deserialise(item) for key, item in value.get("value", [])}
    return kind
