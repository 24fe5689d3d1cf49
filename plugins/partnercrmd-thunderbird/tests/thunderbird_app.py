"""A real Thunderbird (Debian `thunderbird`, apt.txt) for the tests: headless, a new profile, driven over Marionette.

Thunderbird makes the profile and its address book files itself; every contact, address book, change and deletion
the tests need is made through Thunderbird's own address book service (`MailServices.ab`), by JavaScript run in
Thunderbird's chrome context over Marionette (the remote protocol every Gecko application ships; a length-prefixed
JSON exchange, spoken here with the standard library: Marionette's Python client is not packaged for pip with a
current Thunderbird). Nothing in the profile is written by the tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

PREFS = """\
user_pref("marionette.port", 0);
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mail.provider.suppress_dialog_on_startup", true);
user_pref("mail.rights.override", true);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("extensions.update.enabled", false);
user_pref("mailnews.start_page.enabled", false);
"""
"""The test profile's user.js: Marionette on a free port (written to MarionetteActivePort), no first-run prompts."""
START_TIMEOUT = 90.0
SCRIPT_PRELUDE = """
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const { VCardUtils } = ChromeUtils.importESModule("resource:///modules/VCardUtils.sys.mjs");
function book(uri) { return MailServices.ab.getDirectory(uri); }
"""


class Marionette:
    """A Marionette connection (protocol 3): `call(command, params)` answers the command's value or raises."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buffer = b""
        self.message_id = 0
        hello = self._read()
        assert hello.get("marionetteProtocol") == 3, hello

    def _read(self) -> Any:
        while b":" not in self.buffer:
            self.buffer += self._recv()
        size, _, rest = self.buffer.partition(b":")
        length = int(size)
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return json.loads(rest[:length])

    def _recv(self) -> bytes:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise ConnectionError("Thunderbird closed the Marionette connection")
        return chunk

    def call(self, command: str, params: dict[str, Any]) -> Any:
        self.message_id += 1
        body = json.dumps([0, self.message_id, command, params]).encode()
        self.socket.sendall(str(len(body)).encode() + b":" + body)
        _, _, error, result = self._read()
        if error:
            raise RuntimeError(f"Marionette {command}: {error}")
        return result

    def close(self) -> None:
        self.socket.close()


class Thunderbird:
    """One headless Thunderbird with a new profile in `folder`, stopped by `stop`."""

    def __init__(self, folder: Path) -> None:
        self.profile = folder / "profile"
        self.process: subprocess.Popen[bytes] | None = None
        self.marionette: Marionette | None = None
        self.log = folder / "thunderbird.log"

    def start(self) -> Thunderbird:
        executable = shutil.which("thunderbird")
        assert executable, "Thunderbird is not installed: apt-get install thunderbird (the add-in's apt.txt)"
        self.profile.mkdir(parents=True)
        (self.profile / "user.js").write_text(PREFS, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        env |= {"MOZ_HEADLESS": "1", "HOME": str(self.profile.parent)}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [executable, "--headless", "--no-remote", "--profile", str(self.profile), "--marionette",
                 "--remote-allow-system-access"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )  # fmt: skip
        port_file = self.profile / "MarionetteActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while not port_file.is_file() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Thunderbird did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        self.marionette = Marionette(int(port_file.read_text().strip()))
        self.marionette.call("WebDriver:NewSession", {"capabilities": {}})
        self.marionette.call("Marionette:SetContext", {"value": "chrome"})
        return self

    def run(self, script: str, *args: Any) -> Any:
        """Run JavaScript in Thunderbird's chrome context (with MailServices and `book(uri)`); its return value."""
        assert self.marionette is not None
        return self.marionette.call("WebDriver:ExecuteScript", {"script": SCRIPT_PRELUDE + script, "args": list(args)})[
            "value"
        ]

    # --- what a user does in Thunderbird's address book ---------------------------------------------------------

    def books(self) -> list[dict[str, str]]:
        return list(
            self.run("return MailServices.ab.directories.map(d => ({name: d.dirName, uri: d.URI, file: d.fileName}));")
        )

    def new_book(self, name: str) -> str:
        """A new local address book; its URI."""
        return str(
            self.run(
                "const prefKey = MailServices.ab.newAddressBook(arguments[0], '', 101);"
                "return MailServices.ab.directories.find(d => d.dirPrefId == prefKey).URI;",
                name,
            )
        )

    def delete_book(self, uri: str) -> None:
        self.run("MailServices.ab.deleteAddressBook(arguments[0]);", uri)

    def add_vcard(self, uri: str, vcard: str) -> str:
        """A card made from vCard text, as Thunderbird's editor and importer make them (Thunderbird 102+); its UID."""
        return str(
            self.run(
                "const card = VCardUtils.vCardToAbCard(arguments[1]);return book(arguments[0]).addCard(card).UID;",
                uri,
                vcard,
            )
        )

    def add_legacy_card(self, uri: str, properties: dict[str, str]) -> str:
        """A card made the pre-102 way, by properties (as add-ons and old profiles have them); its UID."""
        return str(
            self.run(
                "const card = Cc['@mozilla.org/addressbook/cardproperty;1'].createInstance(Ci.nsIAbCard);"
                "for (const [k, v] of Object.entries(arguments[1])) card.setProperty(k, v);"
                "return book(arguments[0]).addCard(card).UID;",
                uri,
                properties,
            )
        )

    def edit_number(self, uri: str, uid: str, old: str, new: str) -> None:
        """Change one number of a card, as the contact editor does (the vCard's TEL entry)."""
        self.run(
            "const dir = book(arguments[0]); const card = dir.childCards.find(c => c.UID == arguments[1]);"
            "const entry = card.vCardProperties.getAllEntries('tel').find(e => e.value == arguments[2]);"
            "entry.value = arguments[3]; dir.modifyCard(card);",
            uri,
            uid,
            old,
            new,
        )

    def delete_card(self, uri: str, uid: str) -> None:
        self.run(
            "const dir = book(arguments[0]);dir.deleteCards([dir.childCards.find(c => c.UID == arguments[1])]);",
            uri,
            uid,
        )

    def stop(self) -> None:
        if self.marionette is not None:
            with contextlib.suppress(OSError, RuntimeError):
                self.marionette.call("Marionette:Quit", {"flags": ["eAttemptQuit"]})
            self.marionette.close()
            self.marionette = None
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
