"""Where templates come from: the package's catalogue, then the user's folder (`__init__` makes them integrations).

The user's folder is `$PARTNERCRMD_TEMPLATES_DIR`, or `templates/` in partnercrmd's configuration
directory. A user template with the id of a catalogue one replaces it. A file that does not load
becomes an integration that says what is wrong (and cannot be opened), never an error of the
daemon. Each book watches its own file, so edits apply at once (see `connector.TemplateSource`).
"""

from __future__ import annotations

import os
import re
from importlib.resources import files
from pathlib import Path

from partnercrmd.sdk import Paths

TEMPLATES_DIR_ENV = "PARTNERCRMD_TEMPLATES_DIR"
SUFFIXES = (".yaml", ".yml")


def catalogue_dir() -> Path:
    return Path(str(files("partnercrmd_templates").joinpath("catalogue")))


def user_dir() -> Path:
    configured = os.environ.get(TEMPLATES_DIR_ENV)
    return Path(configured).expanduser() if configured else Paths.from_env().config_dir / "templates"


def template_files() -> list[Path]:
    """Catalogue files first, then the user's (so theirs win), each folder in name order."""
    found: list[Path] = []
    for folder in (catalogue_dir(), user_dir()):
        try:
            found += sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
        except OSError:
            continue
    return found


def _head(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as text:
            return text.read(65536)
    except OSError:
        return ""


def declared_id(path: Path) -> str:
    """The id a template file declares (read as text, so also when it does not load), else one from its name."""
    declared = re.search(r"^id:\s*[\"']?([a-z][a-z0-9-]{1,40})", _head(path), re.MULTILINE)
    return declared.group(1) if declared else "template-" + (re.sub(r"[^a-z0-9-]", "-", path.stem.lower()))


def file_stamp(path: Path) -> tuple[int, int]:
    """The file's modification time and size: a template read with one stamp is read again when it changes."""
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)
