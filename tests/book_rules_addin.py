"""A test add-in whose books write down every time they are opened and searched, in their own data directory.

Two integrations: "Recorded VIP" (Controlled: locked until the partner's unlock code names it) and "Recorded
directory" (Standard: hidden when the partner's branding does not ship it). A book that was never opened has no
record file at all, so a test sees from the files on disk whether the daemon ever called the add-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from partnercrmd import hookimpl
from partnercrmd.integration import (
    BlockingConnector,
    BookContext,
    Capability,
    Classification,
    ConfigField,
    FieldKind,
    Integration,
)
from partnercrmd.model import Contact, Phone, SearchQuery

CONTROLLED_ID = "recordvip"
STANDARD_ID = "recordstd"
RECORD_FILE = "calls.txt"
"""In the book's data directory: one line per call into the add-in ("open", "search <text>")."""
PERSON = Contact(id="r1", display_name="Rita Recorded", phones=[Phone("+44 20 7946 0333")])
NUMBER = "+442079460333"


def calls(data_dir: Path) -> list[str]:
    """What a book of this add-in was asked, in order; [] when it was never opened."""
    path = data_dir / RECORD_FILE
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


class RecordingBook(BlockingConnector):
    def __init__(self, context: BookContext) -> None:
        self.record = context.data_dir / RECORD_FILE
        self._write("open")

    def _write(self, line: str) -> None:
        with self.record.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        self._write(f"search {query.text}")
        text = query.text.lower()
        if query.number is not None or (text and text in PERSON.display_name.lower()):
            return [PERSON]
        return []


def _integration(integration_id: str, name: str, classification: Classification) -> Integration:
    return Integration(
        id=integration_id,
        name=name,
        version="1.0",
        open=RecordingBook,
        capabilities=frozenset({Capability.SEARCH_NAME, Capability.SEARCH_NUMBER}),
        description="Writes down every call into it (tests).",
        config=(ConfigField("url", "Server address", FieldKind.URL),),
        classification=classification,
    )


RECORDED_VIP = _integration(CONTROLLED_ID, "Recorded VIP", Classification.CONTROLLED)
RECORDED_DIRECTORY = _integration(STANDARD_ID, "Recorded directory", Classification.STANDARD)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    return [RECORDED_VIP, RECORDED_DIRECTORY]
