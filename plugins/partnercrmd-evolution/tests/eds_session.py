"""A real Evolution Data Server (Debian evolution-data-server, apt.txt) for the tests, on a private session bus.

`EdsSession.start` runs a `dbus-daemon --session` whose environment puts EDS's files in a folder of the test's (HOME
and the XDG folders); the bus starts EDS's registry and address book factory itself when first asked (D-Bus
activation, from the service files the Debian package installs), as a desktop session does. Address books and
contacts are made through EDS's own D-Bus interfaces (`EdsSeeder`), never by writing its files.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from partnercrmd_evolution.client import SOURCES_BUS, SOURCES_PATH, Eds

SOURCE_MANAGER = "org.gnome.evolution.dataserver.SourceManager"


class EdsSession:
    """A private session bus (and, once asked, EDS on it) with its files under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[str] | None = None
        self.address = ""

    def start(self) -> EdsSession:
        assert shutil.which("dbus-daemon"), "dbus-daemon is missing (Debian dbus)"
        assert Path("/usr/libexec/evolution-source-registry").exists(), "apt-get install evolution-data-server"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "XDG_DATA_HOME": str(self.folder / "data"),
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "XDG_CACHE_HOME": str(self.folder / "cache"),
            "XDG_RUNTIME_DIR": str(self.folder / "run"),
            "LANG": "C.UTF-8",
            "GSETTINGS_BACKEND": "memory",
        }
        (self.folder / "run").mkdir(mode=0o700, parents=True)
        self.process = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            start_new_session=True,  # stopping it stops the EDS processes it started too
        )
        assert self.process.stdout is not None
        self.address = self.process.stdout.readline().strip()
        assert self.address.startswith("unix:"), self.address
        return self

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None


class EdsSeeder:
    """What a user does in GNOME Contacts or Evolution, done through EDS's D-Bus interfaces."""

    def __init__(self) -> None:
        self.eds = Eds()  # on the bus DBUS_SESSION_BUS_ADDRESS names

    async def new_book(self, uid: str, name: str, enabled: bool = True) -> str:
        data = (
            f"[Data Source]\nDisplayName={name}\nEnabled={'true' if enabled else 'false'}\nParent=local-stub\n\n"
            "[Address Book]\nBackendName=local\n"
        )
        await self.eds.call(SOURCES_BUS, SOURCES_PATH, SOURCE_MANAGER, "CreateSources", "a{ss}", {uid: data})
        return uid

    async def add(self, book: str, vcard: str) -> str:
        return await self.eds.create(book, vcard)

    async def _call(self, book: str, member: str, signature: str, *body: Any) -> list[Any]:
        return await self.eds._book_call(book, member, signature, *body)

    async def modify(self, book: str, vcard: str) -> None:
        await self._call(book, "ModifyContacts", "asu", [vcard], 0)

    async def remove(self, book: str, uid: str) -> None:
        await self._call(book, "RemoveContacts", "asu", [uid], 0)

    async def close(self) -> None:
        await self.eds.close()
