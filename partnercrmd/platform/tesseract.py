"""Where the tesseract command (and its language data) is, per platform.

A tesseract bundled with a frozen build comes first (`tesseract/` in the build's own folder,
`sys._MEIPASS`, with its `tessdata/`: the PyInstaller recipe in packaging/ puts it there). Then
the PATH. Then where each platform's usual installer puts it, because programs started at login
do not get a shell's PATH: Windows, the UB Mannheim installer (`%ProgramFiles%\\Tesseract-OCR`, or per user under
`%LOCALAPPDATA%\\Programs`); macOS, Homebrew (`/opt/homebrew` on Apple silicon, `/usr/local` on Intel)
and MacPorts (`/opt/local`).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import MACOS, WINDOWS, system

TESSERACT = "tesseract"
BUNDLED_DIR = "tesseract"
"""The folder of a frozen build (sys._MEIPASS) that holds the bundled tesseract and its tessdata/."""
MACOS_PLACES = ("/opt/homebrew/bin/tesseract", "/usr/local/bin/tesseract", "/opt/local/bin/tesseract")


@dataclass(frozen=True)
class Tesseract:
    command: str
    """The program to run (an absolute path when found outside the PATH)."""
    tessdata: str | None = None
    """The language data folder to use (TESSDATA_PREFIX) when it is not tesseract's own default."""


def executable_name(platform: str | None = None) -> str:
    return "tesseract.exe" if system(platform) == WINDOWS else TESSERACT


def candidates(environ: Mapping[str, str], platform: str | None = None) -> list[Path]:
    """The places outside the PATH where this platform's installers put tesseract, in order of preference."""
    name = system(platform)
    if name == WINDOWS:
        places = []
        for variable in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"):
            if environ.get(variable):
                places.append(Path(environ[variable]) / "Tesseract-OCR" / "tesseract.exe")
        if environ.get("LOCALAPPDATA"):
            places.append(Path(environ["LOCALAPPDATA"]) / "Programs" / "Tesseract-OCR" / "tesseract.exe")
        return places
    if name == MACOS:
        return [Path(place) for place in MACOS_PLACES]
    return []


def build_folder() -> Path | None:
    """The folder a frozen build unpacks its files to (PyInstaller's sys._MEIPASS), or None when not frozen."""
    folder = getattr(sys, "_MEIPASS", None)
    return Path(folder) if getattr(sys, "frozen", False) and isinstance(folder, str) else None


def bundled(folder: Path | None = None, platform: str | None = None) -> Tesseract | None:
    """The tesseract a frozen build ships in `folder` (its build folder by default), if there is one."""
    folder = build_folder() if folder is None else folder
    if folder is None:
        return None
    program = folder / BUNDLED_DIR / executable_name(platform)
    if not program.is_file():
        return None
    tessdata = program.parent / "tessdata"
    return Tesseract(str(program), str(tessdata) if tessdata.is_dir() else None)


def find_tesseract(
    environ: Mapping[str, str] | None = None, platform: str | None = None, build: Path | None = None
) -> Tesseract | None:
    """The tesseract to run, or None when there is none (bundled, on the PATH, or where installers put it).

    `build`: the frozen build's folder (sys._MEIPASS by default).
    """
    env = os.environ if environ is None else environ
    found = bundled(build, platform)
    if found is not None:
        return found
    on_path = shutil.which(executable_name(platform), path=env.get("PATH", os.defpath))
    if on_path:
        return Tesseract(on_path)
    for place in candidates(env, platform):
        if place.is_file():
            return Tesseract(str(place))
    return None


NO_TESSERACT = (
    "tesseract is not installed (or not on PATH): install it to read numbers from the screen "
    "(Debian/Ubuntu: apt install tesseract-ocr; macOS: brew install tesseract; Windows: the UB Mannheim installer)."
)


def tesseract_problem(
    command: str = TESSERACT, environ: Mapping[str, str] | None = None, platform: str | None = None
) -> str | None:
    """Why tesseract cannot be run (`command` as given, or the default one found by `find_tesseract`), or None."""
    env = os.environ if environ is None else environ
    if command == TESSERACT:
        return None if find_tesseract(env, platform) else NO_TESSERACT
    return None if shutil.which(command, path=env.get("PATH", os.defpath)) else NO_TESSERACT
