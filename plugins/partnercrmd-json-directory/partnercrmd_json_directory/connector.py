"""The connector: one configured directory file, searched in the host's worker threads (`BlockingConnector`).

The file is read on the first search and again whenever it changes (size or modification time), so
editing the file needs no restart; reading it never blocks the daemon.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from partnercrmd.sdk import (
    AddinError,
    BlockingConnector,
    BookContext,
    CheckResult,
    Contact,
    SearchQuery,
    search_held,
)

from . import client
from .checks import run_checks
from .client import Directory, FileStamp, file_stamp
from .settings import ID_PLACEHOLDER, DirectorySettings, parse_settings


class JsonDirectory(BlockingConnector):
    """One configured directory file; the host calls every method in a worker thread, several at once."""

    def __init__(self, settings: DirectorySettings, region: str | None) -> None:
        self.settings = settings
        self.path = settings.path
        self.region = region
        self._lock = threading.Lock()
        self._stamp: FileStamp | None = None
        self._directory: Directory | None = None
        self._failure: AddinError | None = None

    def directory(self) -> Directory:
        """The people in the file, read again only when the file has changed since the last read.

        A file that fails to load is not read again until it changes; every call until then raises
        the same error, so a broken file costs one read, not one per search.
        """
        stamp = file_stamp(self.path)
        with self._lock:  # one thread reads a changed file; the others wait for its result
            if stamp != self._stamp:
                try:
                    loaded = client.load_directory(self.path, self.settings.id_field, self.region)
                    self._directory, self._failure = loaded, None
                except AddinError as exc:
                    self._directory, self._failure = None, exc
                self._stamp = stamp
            directory, failure = self._directory, self._failure
        if failure is not None:
            # A new exception per call: re-raising one shared object from several threads tangles its traceback.
            raise AddinError(failure.message, code=failure.code)
        assert directory is not None  # set together with the stamp when there is no failure
        return directory

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        """By number: every person with a phone that is the same line; by text: every word in name, company or email."""
        return search_held(self.directory().entries, query, self.region)

    def get(self, contact_id: str) -> Contact | None:
        entry = self.directory().by_id.get(contact_id)
        return entry.copy() if entry is not None else None

    def record_url(self, contact_id: str, edit: bool) -> str | None:
        """The intranet page of `url_template` (the same in edit mode: the file cannot be edited from here)."""
        if not self.settings.url_template:
            return None
        return self.settings.url_template.replace(ID_PLACEHOLDER, quote(contact_id, safe=""))

    def test(self) -> Sequence[CheckResult]:
        return run_checks(self.settings, self.region, lambda contact_id: self.record_url(contact_id, edit=False))

    def diagnostics(self) -> Mapping[str, Any]:
        """The file, and what the last read of it gave: the entries held in memory (the add-in's only index)."""
        try:
            directory = self.directory()
        except AddinError as exc:
            return {"file": str(self.path), "index": {"kind": "entries in memory", "last_error": exc.message}}
        numbers = sum(len(entry.phone_keys) for entry in directory.entries)
        index = {"kind": "entries in memory", "entries": len(directory.entries), "numbers": numbers, "last_error": ""}
        return {"file": str(self.path), "index": index}

    def close(self) -> None:
        with self._lock:
            self._stamp = self._directory = self._failure = None


def open_directory(context: BookContext) -> JsonDirectory:
    """`Integration.open`: check the settings; the file itself is read on first use."""
    return JsonDirectory(parse_settings(context.settings), context.default_region)
